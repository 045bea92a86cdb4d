// libpng's C API for PNG read and write.
#include <png.h>

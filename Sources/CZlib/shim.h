// zlib (Debian zlib1g-dev), used to inflate the gzip-compressed CLIP BPE vocabulary.
#include <zlib.h>

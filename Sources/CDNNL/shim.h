// oneDNN's C API (dnnl_sgemm and the matmul primitive).
#include <oneapi/dnnl/dnnl.h>

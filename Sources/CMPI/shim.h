// Open MPI's C API; the handle macros are re-exported as functions by CMPIShim.
#include <mpi.h>

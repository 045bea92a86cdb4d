// MPI handle macros exposed as functions for Swift.
#include "CMPIShim.h"

MPI_Comm pararl_mpi_comm_world(void) { return MPI_COMM_WORLD; }
MPI_Datatype pararl_mpi_float(void) { return MPI_FLOAT; }
MPI_Datatype pararl_mpi_double(void) { return MPI_DOUBLE; }
MPI_Datatype pararl_mpi_int32(void) { return MPI_INT32_T; }
MPI_Datatype pararl_mpi_int64(void) { return MPI_INT64_T; }
MPI_Datatype pararl_mpi_uint8(void) { return MPI_UINT8_T; }
MPI_Op pararl_mpi_sum(void) { return MPI_SUM; }
MPI_Op pararl_mpi_max(void) { return MPI_MAX; }
MPI_Op pararl_mpi_min(void) { return MPI_MIN; }
int pararl_mpi_success(void) { return MPI_SUCCESS; }
int pararl_mpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }
int pararl_mpi_errors_return(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }

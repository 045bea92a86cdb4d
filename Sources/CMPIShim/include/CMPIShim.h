// MPI handles as functions: Swift cannot import MPI_COMM_WORLD, datatypes or ops, which are macros; plus the
// few calls the communicator wraps with a fixed argument (MPI_Abort on the world, error strings).
#ifndef PARARL_CMPISHIM_H
#define PARARL_CMPISHIM_H
#include <mpi.h>

MPI_Comm pararl_mpi_comm_world(void);
MPI_Datatype pararl_mpi_float(void);
MPI_Datatype pararl_mpi_double(void);
MPI_Datatype pararl_mpi_int32(void);
MPI_Datatype pararl_mpi_int64(void);
MPI_Datatype pararl_mpi_uint8(void);
MPI_Op pararl_mpi_sum(void);
MPI_Op pararl_mpi_max(void);
MPI_Op pararl_mpi_min(void);
int pararl_mpi_success(void);
int pararl_mpi_thread_funneled(void);
/// Sets MPI_ERRORS_RETURN on the world communicator so failures come back as codes instead of aborting.
int pararl_mpi_errors_return(void);
/// MPI_IN_PLACE (a pointer-cast macro).
void *pararl_mpi_in_place(void);
/// MPI_Abort on the world communicator: ends every process of the job with `code`.
int pararl_mpi_abort_world(int code);
/// MPI_Error_string into `buffer` (at least MPI_MAX_ERROR_STRING bytes); returns the length written.
int pararl_mpi_error_string(int code, char *buffer, int capacity);
/// Cores in this process's CPU affinity set (0 if it cannot be read).
int pararl_affinity_cores(void);
#endif

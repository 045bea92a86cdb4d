// MPI handles as functions: Swift cannot import MPI_COMM_WORLD, datatypes or ops, which are macros.
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
#endif

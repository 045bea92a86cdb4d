// MPI handle macros exposed as functions for Swift, the fixed-argument calls the communicator makes, and the
// CPU affinity count a rank sizes its threads by (sched_getaffinity needs _GNU_SOURCE, which Swift's Glibc lacks).
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
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
void *pararl_mpi_in_place(void) { return MPI_IN_PLACE; }
int pararl_mpi_abort_world(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }

int pararl_mpi_error_string(int code, char *buffer, int capacity) {
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    if (capacity <= 0) return 0;
    if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
        strncpy(text, "unknown MPI error", sizeof text);
        length = (int)strlen(text);
    }
    if (length >= capacity) length = capacity - 1;
    memcpy(buffer, text, (size_t)length);
    buffer[length] = 0;
    return length;
}

int pararl_affinity_cores(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
}

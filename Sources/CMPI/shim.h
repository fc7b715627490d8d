// Open MPI's C API, loaded at run time. There is deliberately no `link` in the module map: savl does
// not link libmpi, so the binary starts on machines without Open MPI; `savl_mpi_load` opens the
// library only when a launcher (mpirun, srun) started the process. The function pointer types come
// from mpi.h, so the compiler checks every signature against the installed header.
#include <openmpi/mpi.h>
#include <dlfcn.h>
#include <stddef.h>

/// The MPI functions and predefined handles savl uses, resolved from a loaded libmpi.
typedef struct {
    __typeof__(&MPI_Init_thread) init_thread;
    __typeof__(&MPI_Finalize) finalize;
    __typeof__(&MPI_Comm_rank) comm_rank;
    __typeof__(&MPI_Comm_size) comm_size;
    __typeof__(&MPI_Barrier) barrier;
    __typeof__(&MPI_Bcast) bcast;
    __typeof__(&MPI_Allreduce) allreduce;
    __typeof__(&MPI_Send) send;
    __typeof__(&MPI_Recv) recv;
    __typeof__(&MPI_Iprobe) iprobe;
    __typeof__(&MPI_Abort) abort;
    __typeof__(&MPI_Error_string) error_string;
    __typeof__(&MPI_Get_library_version) library_version;
    /// MPI_COMM_WORLD, MPI_FLOAT, MPI_DOUBLE, MPI_BYTE, MPI_INT, MPI_SUM, MPI_MAX: in Open MPI the
    /// addresses of global objects, so they are looked up like the functions.
    MPI_Comm comm_world;
    MPI_Datatype float_type, double_type, byte_type, int_type;
    MPI_Op sum, max;
} savl_mpi_api;

/// Opens `library` (RTLD_GLOBAL: Open MPI's own plug-ins resolve symbols from it) and fills `api`.
/// Returns NULL, or the reason it failed (dlerror's text, valid until the next dl call).
static inline const char *savl_mpi_load(const char *library, savl_mpi_api *api) {
    void *handle = dlopen(library, RTLD_NOW | RTLD_GLOBAL);
    if (!handle) return dlerror();
#define SAVL_MPI_SYMBOL(field, name) \
    do { *(void **)&api->field = dlsym(handle, name); if (!api->field) return dlerror(); } while (0)
    SAVL_MPI_SYMBOL(init_thread, "MPI_Init_thread");
    SAVL_MPI_SYMBOL(finalize, "MPI_Finalize");
    SAVL_MPI_SYMBOL(comm_rank, "MPI_Comm_rank");
    SAVL_MPI_SYMBOL(comm_size, "MPI_Comm_size");
    SAVL_MPI_SYMBOL(barrier, "MPI_Barrier");
    SAVL_MPI_SYMBOL(bcast, "MPI_Bcast");
    SAVL_MPI_SYMBOL(allreduce, "MPI_Allreduce");
    SAVL_MPI_SYMBOL(send, "MPI_Send");
    SAVL_MPI_SYMBOL(recv, "MPI_Recv");
    SAVL_MPI_SYMBOL(iprobe, "MPI_Iprobe");
    SAVL_MPI_SYMBOL(abort, "MPI_Abort");
    SAVL_MPI_SYMBOL(error_string, "MPI_Error_string");
    SAVL_MPI_SYMBOL(library_version, "MPI_Get_library_version");
    SAVL_MPI_SYMBOL(comm_world, "ompi_mpi_comm_world");
    SAVL_MPI_SYMBOL(float_type, "ompi_mpi_float");
    SAVL_MPI_SYMBOL(double_type, "ompi_mpi_double");
    SAVL_MPI_SYMBOL(byte_type, "ompi_mpi_byte");
    SAVL_MPI_SYMBOL(int_type, "ompi_mpi_int");
    SAVL_MPI_SYMBOL(sum, "ompi_mpi_op_sum");
    SAVL_MPI_SYMBOL(max, "ompi_mpi_op_max");
#undef SAVL_MPI_SYMBOL
    return NULL;
}

/// MPI_IN_PLACE, a cast macro Swift does not import.
static inline void *savl_mpi_in_place(void) { return MPI_IN_PLACE; }

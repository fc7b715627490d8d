// Time of MPI_Allreduce (sum, in place) of N floats, the gradient payload of a data-parallel step.
// mpicc -O2 benchmarks/allreduce_time.c -o /tmp/allreduce_time
// mpirun -np 2 /tmp/allreduce_time 545183 13200000   # floats: the `small` and `paper` payloads
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    for (int a = 1; a < argc; a++) {
        long n = atol(argv[a]);
        float *x = calloc(n, sizeof(float));
        double best = 1e9, total = 0;
        int rounds = 20;
        for (int r = -2; r < rounds; r++) {
            MPI_Barrier(MPI_COMM_WORLD);
            double t = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            t = MPI_Wtime() - t;
            if (r >= 0) { total += t; if (t < best) best = t; }
        }
        if (rank == 0) printf("%ld floats (%.1f MB): mean %.2f ms, best %.2f ms\n", n, n * 4 / 1e6, total / rounds * 1e3, best * 1e3);
        free(x);
    }
    MPI_Finalize();
    return 0;
}

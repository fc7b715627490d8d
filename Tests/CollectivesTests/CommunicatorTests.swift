import Foundation
import Testing
@testable import Collectives

/// The single-process communicator and how a process decides whether it runs under MPI. The
/// collectives across processes are tested end to end under `mpirun` (savlTests' MPI suites).
struct CommunicatorTests {
    @Test func aLauncherIsRecognisedByItsVariables() {
        #expect(!Communicators.launched(environment: [:]))
        #expect(!Communicators.launched(environment: ["SLURM_PROCID": "0"]), "srun alone, without MPI, is a single process")
        #expect(Communicators.launched(environment: ["OMPI_COMM_WORLD_SIZE": "2"]))
        #expect(Communicators.launched(environment: ["PMIX_RANK": "1"]))
        #expect(Communicators.launched(environment: ["PMI_RANK": "0"]))
        #expect(!Communicators.launched(environment: ["OMPI_COMM_WORLD_SIZE": "2", "SAVL_MPI": "0"]))
    }

    @Test func withoutALauncherNoLibraryIsLoaded() throws {
        // A library that does not exist would fail to load: a single process never tries.
        let world = try Communicators.start(environment: ["SAVL_MPI_LIBRARY": "/nonexistent/libmpi.so"])
        #expect(world is SingleProcess)
        #expect(world.rank == 0 && world.size == 1 && world.isRoot)
    }

    @Test func aMissingLibraryUnderALauncherIsExplained() {
        #expect {
            _ = try Communicators.start(environment: ["OMPI_COMM_WORLD_SIZE": "2", "SAVL_MPI_LIBRARY": "/nonexistent/libmpi.so"])
        } throws: { error in
            let text = "\(error)"
            return text.contains("/nonexistent/libmpi.so cannot be loaded") && text.contains("apt-get install openmpi-bin")
        }
    }

    @Test func singleProcessCollectivesKeepTheirBuffers() throws {
        let world = SingleProcess()
        var values: [Float] = [1, -2.5, 3]
        try world.allreduceSum(&values)
        #expect(values == [1, -2.5, 3])
        try world.allreduceAverage(&values)
        #expect(values == [1, -2.5, 3])
        try world.broadcast(&values, root: 0)
        #expect(values == [1, -2.5, 3])
        #expect(try world.broadcast(Data([7, 8, 9])) == Data([7, 8, 9]))
        #expect(try world.agree(on: 0xDEAD_BEEF_0123_4567))
        try world.barrier()
        #expect(throws: CollectiveError.self) { try world.broadcast(&values, root: 1) }
        #expect(throws: CollectiveError.self) { try world.send([1], to: 1, tag: 0) }
        #expect(throws: CollectiveError.self) { _ = try world.receive(count: 1, from: nil, tag: 0) }
        #expect(try !world.hasMessage(tag: 0))
    }

    /// One process takes the queue's items in order, and nothing waits at the end (2 ranks: savlTests' UpscaleRanksTests).
    @Test func aSingleProcessWalksTheQueueInOrder() throws {
        let queue = try #require(WorkQueue.make(SingleProcess(), order: [4, 0, 2]))
        var taken: [Int] = []
        while let item = try queue.next() { taken.append(item) }
        #expect(taken == [4, 0, 2])
        #expect(try queue.next() == nil)
        try queue.finish()
    }
}

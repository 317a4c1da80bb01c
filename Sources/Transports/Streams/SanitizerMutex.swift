#if RPCNET_TSAN
    import Glibc

    /// ThreadSanitizer builds only (`-Xswiftc -DRPCNET_TSAN`, see `make sanitize`): a stand-in for
    /// `Synchronization.Mutex` on a `pthread_mutex`, with the same `withLock` shape, which shadows
    /// the standard one throughout this module.
    ///
    /// On Linux `Synchronization.Mutex` locks with futex system calls, which ThreadSanitizer does
    /// not see, so it reports races between accesses that the mutex orders. `pthread_mutex_lock`
    /// is intercepted. Every module that uses `Mutex` compiles this file (Sources/RpcNet/Support,
    /// Tests/TransportsTests and Tests/RpcNetTests hold symbolic links to it): a module's own
    /// declaration shadows both `Synchronization`'s and one seen through `@testable import`.
    final class Mutex<Value: ~Copyable>: @unchecked Sendable {
        private let mutex: UnsafeMutablePointer<pthread_mutex_t>
        private let storage: UnsafeMutablePointer<Value>

        init(_ initialValue: consuming sending Value) {
            mutex = .allocate(capacity: 1)
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
            storage = .allocate(capacity: 1)
            storage.initialize(to: initialValue)
        }

        deinit {
            storage.deinitialize(count: 1)
            storage.deallocate()
            pthread_mutex_destroy(mutex)
            mutex.deallocate()
        }

        /// Runs `body` with exclusive access to the value.
        func withLock<Result: ~Copyable, E: Error>(
            _ body: (inout sending Value) throws(E) -> sending Result
        ) throws(E) -> sending Result {
            pthread_mutex_lock(mutex)
            defer { pthread_mutex_unlock(mutex) }
            return try body(&storage.pointee)
        }

        /// Runs `body` with exclusive access to the value if no other thread holds the lock;
        /// nil without running it otherwise.
        func withLockIfAvailable<Result: ~Copyable, E: Error>(
            _ body: (inout sending Value) throws(E) -> sending Result
        ) throws(E) -> sending Result? {
            guard pthread_mutex_trylock(mutex) == 0 else { return nil }
            defer { pthread_mutex_unlock(mutex) }
            return try body(&storage.pointee)
        }
    }
#endif

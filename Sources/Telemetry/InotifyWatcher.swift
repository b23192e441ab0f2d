import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// The inotify side of `LogFollower`: a thread of its own sleeps in poll(2) until the kernel reports
/// a change to the file or to its name in the directory, or until the waiter's deadline; keeps the
/// watch on the file under the name (a new one after rotation); and rings the bell. After a change
/// it lets changes gather for `batching`, so a busy log wakes the waiter as often as a poll every
/// `batching` would, and a quiet one never.
final class InotifyWatcher: @unchecked Sendable {
    private let path: String
    private let directory: String
    private let name: [UInt8]
    private let batching: Duration
    private let bell: Doorbell
    private let events: Int32
    /// A pipe: a byte written to its second end wakes the thread (to stop, or to see an earlier deadline).
    private let poke: (read: Int32, write: Int32)
    private let lock = NSLock()
    private var running = true
    private var stopping = false
    private var directoryWatch: Int32?
    private var fileWatch: Int32?
    /// When the waiter wants the bell at the latest, and when the thread's sleep ends (nil: not before a change).
    private var deadline: ContinuousClock.Instant?
    private var sleepingUntil: ContinuousClock.Instant?

    private static let fileMask = UInt32(IN_MODIFY | IN_ATTRIB | IN_MOVE_SELF | IN_DELETE_SELF)
    private static let directoryMask = UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_MOVE_SELF | IN_ONLYDIR)

    /// nil when the system has no inotify instance to give (then the follower polls).
    init?(path: String, batching: Duration, bell: Doorbell) {
        let events = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard events >= 0 else { return nil }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { close(events); return nil }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        let parent = (path as NSString).deletingLastPathComponent
        (self.path, directory, name) = (path, parent.isEmpty ? "." : parent, Array((path as NSString).lastPathComponent.utf8))
        (self.batching, self.bell, self.events, poke) = (batching, bell, events, (ends[0], ends[1]))
        _ = arm()
        let thread = Thread { [self] in follow() }
        thread.name = "swiftdeploy.log-follower"
        thread.start()
    }

    /// Adds the watches that are missing; whether the directory is watched (then every change is seen).
    func arm() -> Bool {
        lock.withLock {
            guard running else { return false }
            if directoryWatch == nil {
                let watch = inotify_add_watch(events, directory, Self.directoryMask)
                if watch >= 0 { directoryWatch = watch }
            }
            if fileWatch == nil { watchFile() }
            return directoryWatch != nil
        }
    }

    /// Rings the bell at `instant` at the latest (nil: only on a change); wakes the thread when it
    /// sleeps longer.
    func due(_ instant: ContinuousClock.Instant?) {
        lock.withLock {
            deadline = instant
            guard running, let instant, sleepingUntil.map({ instant < $0 }) ?? true else { return }
            sleepingUntil = instant
            pokeThread()
        }
    }

    /// Ends the thread (it closes the descriptors).
    func stop() {
        lock.withLock {
            guard running else { return }
            stopping = true
            pokeThread()
        }
    }

    /// Lock held.
    private func pokeThread() {
        var byte: UInt8 = 1
        _ = write(poke.write, &byte, 1)
    }

    /// Watches the file now under the name, dropping the watch on a file rotated away. Lock held.
    private func watchFile() {
        let watch = inotify_add_watch(events, path, Self.fileMask)
        guard watch >= 0 else { return }
        if let old = fileWatch, old != watch { inotify_rm_watch(events, old) }
        fileWatch = watch
    }

    private func follow() {
        var buffer = [UInt8](repeating: 0, count: 1 << 14)
        var descriptors = [pollfd(fd: events, events: Int16(POLLIN), revents: 0), pollfd(fd: poke.read, events: Int16(POLLIN), revents: 0)]
        var gathering: ContinuousClock.Instant?
        while true {
            let now = ContinuousClock.now
            if let end = gathering, end <= now { gathering = nil }
            let timeout = lock.withLock { () -> Int32 in
                sleepingUntil = deadline
                guard let end = gathering ?? deadline else { return -1 }
                return Int32(max(0, ((min(end, deadline ?? end) - now) / .milliseconds(1)).rounded(.up)))
            }
            descriptors[0].events = gathering == nil ? Int16(POLLIN) : 0
            let ready = poll(&descriptors, 2, timeout)
            if ready < 0 && errno == EINTR { continue }
            guard ready >= 0 else { break }
            if descriptors[1].revents != 0 {
                while read(poke.read, &buffer, buffer.count) > 0 {}
                if lock.withLock({ stopping }) { break }
            }
            // The deadline is served by any ring; cleared first, so a waiter's next one stays.
            if descriptors[0].revents != 0 && drain(&buffer) {
                lock.withLock { deadline = nil }
                bell.ring()
                gathering = .now + batching
            } else if lock.withLock({ () -> Bool in
                guard let due = deadline, due <= .now else { return false }
                deadline = nil
                return true
            }) {
                bell.ring()
            }
        }
        lock.withLock { running = false }
        close(events)
        close(poke.read)
        close(poke.write)
        bell.ring()  // a waiter falls back to polling
    }

    /// Reads every queued event; whether one concerns the file.
    private func drain(_ buffer: inout [UInt8]) -> Bool {
        var changed = false
        while true {
            let count = buffer.withUnsafeMutableBytes { read(events, $0.baseAddress, $0.count) }
            guard count > 0 else { return changed }
            var offset = 0
            while offset + 16 <= count {
                let (watch, mask, length) = buffer.withUnsafeBytes {
                    ($0.loadUnaligned(fromByteOffset: offset, as: Int32.self), $0.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                     Int($0.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let named = buffer[(offset + 16)..<min(count, offset + 16 + length)].prefix { $0 != 0 }
                if handle(watch: watch, mask: mask, name: named) { changed = true }
                offset += 16 + length
            }
        }
    }

    /// Keeps the watches current after one event; whether it concerns the file.
    private func handle(watch: Int32, mask: UInt32, name: ArraySlice<UInt8>) -> Bool {
        lock.withLock {
            if mask & UInt32(IN_Q_OVERFLOW) != 0 { return true }
            if watch == fileWatch {
                if mask & UInt32(IN_IGNORED) != 0 { fileWatch = nil }
                return true
            }
            guard watch == directoryWatch else { return false }  // a rotated file's watch, now dropped
            if mask & UInt32(IN_IGNORED | IN_MOVE_SELF) != 0 {
                // The directory went away or moved: watched again by path at the next wait.
                if mask & UInt32(IN_MOVE_SELF) != 0 { inotify_rm_watch(events, watch) }
                directoryWatch = nil
                return true
            }
            guard name.elementsEqual(self.name) else { return false }
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0 { watchFile() }
            return true
        }
    }
}

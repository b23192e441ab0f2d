import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import Telemetry
import Vocabulary
import Detection

/// The guard's memory across restarts: bans, offence counts, the learned baseline and its history,
/// the log position with the file's identity, and manual ban requests for the running daemon, in
/// one SQLite file (`guard/guard.db` in the state directory, a folder of the guard's own, WAL mode so
/// readers never wait for the daemon).
///
/// The daemon writes a checkpoint before it acts on a decision and at least once a second, in one
/// transaction, so a crash (even kill -9) loses no ban and no offence, and the saved log position
/// always matches the saved baseline: lines after it are read once more into a state that has not
/// counted them.
public final class GuardStore: Sendable {
    public let path: String
    /// How many seconds of per-second history are kept (the dashboard's chart, the baseline's ring).
    public let historySeconds: Int
    let database: DatabasePool

    /// The guard's own folder in a project's state directory (store and audit log).
    public static func directory(stateDirectory: String) -> String { "\(stateDirectory)/guard" }
    public static func path(stateDirectory: String) -> String { "\(directory(stateDirectory: stateDirectory))/guard.db" }

    public init(path: String, historySeconds: Int = 3600) throws(GuardStoreError) {
        self.path = path
        self.historySeconds = historySeconds
        try PrivateDirectory.prepare((path as NSString).deletingLastPathComponent)
        for file in [path, path + "-wal", path + "-shm"] { try PrivateDirectory.checkFile(file) }
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        database = try Self.attempt(path) { try DatabasePool(path: path, configuration: configuration) }
        try Self.attempt(path) { try Self.migrator.migrate(database) }
        // Bans, offenders and the log position are the guard's business only.
        for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o600) }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE bans (ip TEXT PRIMARY KEY, since INTEGER NOT NULL, until INTEGER, offence INTEGER NOT NULL, reason TEXT NOT NULL);
                CREATE TABLE offences (ip TEXT PRIMARY KEY, count INTEGER NOT NULL, last INTEGER NOT NULL);
                CREATE TABLE baseline_seconds (second INTEGER PRIMARY KEY, requests INTEGER NOT NULL, errors INTEGER NOT NULL);
                CREATE TABLE baseline_hours (hour INTEGER PRIMARY KEY, day INTEGER NOT NULL, points INTEGER NOT NULL, sum REAL NOT NULL,
                                             squares REAL NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL);
                CREATE TABLE baseline_recalcs (at INTEGER PRIMARY KEY, mean REAL NOT NULL, stddev REAL NOT NULL, error_rate REAL NOT NULL,
                                               points INTEGER NOT NULL, source TEXT NOT NULL);
                CREATE TABLE state (key TEXT PRIMARY KEY, value);
                CREATE TABLE requests (id INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, ip TEXT NOT NULL, seconds INTEGER);
                """)
        }
        migrator.registerMigration("v2") { db in
            // Decisions of this edge not yet in the site's shared database (guard.shared).
            try db.execute(sql: """
                CREATE TABLE shared_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, action TEXT NOT NULL, ip TEXT NOT NULL, since INTEGER NOT NULL,
                                            until INTEGER, offence INTEGER NOT NULL, reason TEXT NOT NULL, condition TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v3") { db in
            // A manual ban's own reason (`guard bans add --reason`).
            try db.execute(sql: "ALTER TABLE requests ADD COLUMN reason TEXT")
        }
        return migrator
    }

    /// Runs a database call, turning SQLite's failures into what the operator needs to know.
    static func attempt<T>(_ path: String, _ body: () throws -> T) throws(GuardStoreError) -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw GuardStoreError(path: path, databaseError: error)
        } catch {
            throw GuardStoreError(path: path, problem: "\(error)", fix: "check the file and its directory")
        }
    }

    // MARK: - Checkpoints

    /// A baseline recalculation, kept for the dashboard's chart.
    public struct Recalc: Sendable, Equatable, Codable {
        public var at: Int
        public var summary: Baseline.Summary

        public init(at: Int, summary: Baseline.Summary) { (self.at, self.summary) = (at, summary) }
    }

    /// Everything that changed since the last checkpoint. Checkpoints that failed to save (a full
    /// disk) are merged into the next one, so nothing is lost once writing works again.
    public struct Checkpoint: Sendable {
        public var bans: [BanTarget: BanBook.Ban] = [:]
        public var lifted: Set<BanTarget> = []
        public var offences: [BanTarget: BanBook.Offence] = [:]
        public var learned: GuardEngine.Learned?
        public var recalcs: [Recalc] = []
        public var position: LogTail.Position?
        /// Lines read and malformed lines skipped, since the store was created (they match `position`).
        public var lines: Int?
        public var badLines: Int?
        /// This edge's decisions for the site's shared database, queued with the rest (write-ahead).
        public var outgoing: [Outgoing] = []

        public init() {}

        public mutating func ban(_ ban: BanBook.Ban) {
            bans[ban.target] = ban
            lifted.remove(ban.target)
        }

        public mutating func lift(_ target: BanTarget) {
            bans[target] = nil
            lifted.insert(target)
        }

        public mutating func offence(_ offence: BanBook.Offence) { offences[offence.target] = offence }

        /// Keeps the unsaved seconds of an older snapshot that a newer one does not carry again.
        public mutating func learn(_ newer: GuardEngine.Learned) {
            var merged = newer
            if let older = learned {
                let from = newer.baseline.seconds.first?.second ?? Int.max
                merged.baseline.seconds = older.baseline.seconds.filter { $0.second < from } + newer.baseline.seconds
            }
            learned = merged
        }
    }

    /// Saves a checkpoint in one transaction.
    public func save(_ checkpoint: Checkpoint) throws(GuardStoreError) {
        let keep = historySeconds
        try Self.attempt(path) {
            try database.write { db in
                // Prepared once per checkpoint: a new edge catching up saves 100,000 bans in one.
                let saveBan = try db.cachedStatement(sql: "INSERT OR REPLACE INTO bans (ip, since, until, offence, reason) VALUES (?, ?, ?, ?, ?)")
                for ban in checkpoint.bans.values {
                    try saveBan.execute(arguments: [ban.target.description, ban.since, ban.until, ban.offence, ban.reason])
                }
                for target in checkpoint.lifted { try db.execute(sql: "DELETE FROM bans WHERE ip = ?", arguments: [target.description]) }
                let saveOffence = try db.cachedStatement(sql: "INSERT OR REPLACE INTO offences (ip, count, last) VALUES (?, ?, ?)")
                for offence in checkpoint.offences.values {
                    try saveOffence.execute(arguments: [offence.target.description, offence.count, offence.last])
                }
                if let learned = checkpoint.learned, learned.baseline.first != nil {
                    let baseline = learned.baseline
                    for second in baseline.seconds {
                        try db.execute(sql: "INSERT OR REPLACE INTO baseline_seconds (second, requests, errors) VALUES (?, ?, ?)",
                                       arguments: [second.second, second.requests, second.errors])
                    }
                    try db.execute(sql: "DELETE FROM baseline_seconds WHERE second < ?", arguments: [baseline.newest - keep])
                    for (hour, slot) in baseline.hours.enumerated() where slot.points > 0 {
                        try db.execute(sql: """
                            INSERT OR REPLACE INTO baseline_hours (hour, day, points, sum, squares, requests, errors) VALUES (?, ?, ?, ?, ?, ?, ?)
                            """, arguments: [hour, slot.day, slot.points, slot.sum, slot.squares, slot.requests, slot.errors])
                    }
                    try Self.set(db, [
                        "baseline_first": baseline.first, "baseline_newest": baseline.newest,
                        "pending_count": baseline.pendingCount, "pending_errors": baseline.pendingErrors,
                        "typical_client_rate": learned.typicalClientRate, "client_rate_spread": learned.clientRateSpread,
                    ])
                }
                for recalc in checkpoint.recalcs {
                    let summary = recalc.summary
                    try db.execute(sql: """
                        INSERT OR REPLACE INTO baseline_recalcs (at, mean, stddev, error_rate, points, source) VALUES (?, ?, ?, ?, ?, ?)
                        """, arguments: [recalc.at, summary.mean, summary.stddev, summary.errorRate, summary.points, summary.source])
                }
                if let last = checkpoint.recalcs.last {
                    try db.execute(sql: "DELETE FROM baseline_recalcs WHERE at < ?", arguments: [last.at - 86400])
                }
                if let lines = checkpoint.lines, let badLines = checkpoint.badLines {
                    try Self.set(db, ["lines_total": lines, "bad_lines_total": badLines])
                }
                for item in checkpoint.outgoing {
                    try db.execute(sql: """
                        INSERT INTO shared_outbox (action, ip, since, until, offence, reason, condition) VALUES (?, ?, ?, ?, ?, ?, ?)
                        """, arguments: [item.action.rawValue, item.ban.target.description, item.ban.since, item.ban.until, item.ban.offence,
                                         item.ban.reason, item.condition])
                }
                if let position = checkpoint.position {
                    try Self.set(db, ["log_device": Int64(bitPattern: position.device), "log_inode": Int64(bitPattern: position.inode),
                                      "log_offset": Int64(bitPattern: position.offset)])
                }
            }
        }
    }

    static func set(_ db: Database, _ values: [String: (any DatabaseValueConvertible)?]) throws {
        for (key, value) in values {
            try db.execute(sql: "INSERT OR REPLACE INTO state (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    // MARK: - Loading

    /// What a starting daemon (or the CLI) finds.
    public struct Saved: Sendable {
        public var bans: [BanBook.Ban] = []
        public var offences: [BanBook.Offence] = []
        public var learned: GuardEngine.Learned?
        public var position: LogTail.Position?
        public var daemonPid: Int32?
        public var lines = 0
        public var badLines = 0
    }

    public func load() throws(GuardStoreError) -> Saved {
        try Self.attempt(path) {
            try database.read { db in
                var saved = Saved()
                saved.bans = try Self.bans(db)
                saved.offences = try Row.fetchAll(db, sql: "SELECT ip, count, last FROM offences").compactMap { row in
                    BanTarget(row["ip"] as String).map { BanBook.Offence(target: $0, count: row["count"], last: row["last"]) }
                }
                let state = try Dictionary(uniqueKeysWithValues: Row.fetchAll(db, sql: "SELECT key, value FROM state").map {
                    ($0["key"] as String, $0["value"] as DatabaseValue)
                })
                func int(_ key: String) -> Int? { state[key].flatMap { Int.fromDatabaseValue($0) } }
                func double(_ key: String) -> Double { state[key].flatMap { Double.fromDatabaseValue($0) } ?? 0 }
                if let device = int("log_device"), let inode = int("log_inode"), let offset = int("log_offset") {
                    saved.position = LogTail.Position(device: UInt64(bitPattern: Int64(device)), inode: UInt64(bitPattern: Int64(inode)),
                                                      offset: UInt64(bitPattern: Int64(offset)))
                }
                saved.daemonPid = int("daemon_pid").map(Int32.init)
                saved.lines = int("lines_total") ?? 0
                saved.badLines = int("bad_lines_total") ?? 0
                if let first = int("baseline_first"), let newest = int("baseline_newest") {
                    var hours = [Baseline.Accumulator](repeating: Baseline.Accumulator(), count: 24)
                    for (hour, slot) in try Self.hours(db) where (0..<24).contains(hour) { hours[hour] = slot }
                    let snapshot = Baseline.Snapshot(first: first, newest: newest, pendingCount: int("pending_count") ?? 0,
                                                     pendingErrors: int("pending_errors") ?? 0,
                                                     seconds: try Self.seconds(db, since: newest - historySeconds), hours: hours)
                    saved.learned = GuardEngine.Learned(baseline: snapshot, typicalClientRate: double("typical_client_rate"),
                                                        clientRateSpread: double("client_rate_spread"))
                }
                return saved
            }
        }
    }

    static func bans(_ db: Database) throws -> [BanBook.Ban] {
        try Row.fetchAll(db, sql: "SELECT ip, since, until, offence, reason FROM bans ORDER BY ip").compactMap { row in
            BanTarget(row["ip"] as String).map {
                BanBook.Ban(target: $0, since: row["since"], until: row["until"], offence: row["offence"], reason: row["reason"])
            }
        }
    }

    static func seconds(_ db: Database, since: Int) throws -> [Baseline.Second] {
        try Row.fetchAll(db, sql: "SELECT second, requests, errors FROM baseline_seconds WHERE second >= ? ORDER BY second",
                         arguments: [since]).map { Baseline.Second(second: $0["second"], requests: $0["requests"], errors: $0["errors"]) }
    }

    /// Bans on record (including any that ended while no daemon ran to lift them).
    public func bans() throws(GuardStoreError) -> [BanBook.Ban] {
        try Self.attempt(path) { try database.read(Self.bans) }
    }

    /// Per-second global counts since `second`, oldest first.
    public func history(since second: Int) throws(GuardStoreError) -> [Baseline.Second] {
        try Self.attempt(path) { try database.read { try Self.seconds($0, since: second) } }
    }

    /// The hourly slots with data, by hour of day (UTC).
    public func hours() throws(GuardStoreError) -> [(hour: Int, slot: Baseline.Accumulator)] {
        try Self.attempt(path) { try database.read(Self.hours) }
    }

    static func hours(_ db: Database) throws -> [(hour: Int, slot: Baseline.Accumulator)] {
        try Row.fetchAll(db, sql: "SELECT * FROM baseline_hours ORDER BY hour").map { row in
            (row["hour"], Baseline.Accumulator(points: row["points"], sum: row["sum"], squares: row["squares"],
                                               requests: row["requests"], errors: row["errors"], day: row["day"]))
        }
    }

    /// Baseline recalculations since `second`, oldest first.
    public func recalcs(since second: Int) throws(GuardStoreError) -> [Recalc] {
        try Self.attempt(path) {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM baseline_recalcs WHERE at >= ? ORDER BY at", arguments: [second]).map {
                    Recalc(at: $0["at"], summary: Baseline.Summary(mean: $0["mean"], stddev: $0["stddev"], errorRate: $0["error_rate"],
                                                                   points: $0["points"], source: $0["source"]))
                }
            }
        }
    }

    // MARK: - The running daemon

    /// Records (or clears) the pid of the daemon that owns the store.
    public func setDaemon(pid: Int32?) throws(GuardStoreError) {
        try Self.attempt(path) { try database.write { try Self.set($0, ["daemon_pid": pid.map { Int($0) }]) } }
    }

    /// One of this edge's bans or unbans waiting to reach the site's shared database.
    public struct Outgoing: Sendable, Equatable {
        public var action: Request.Action
        /// The ban (for an unban: the one lifted, `since` the moment it was lifted).
        public var ban: BanBook.Ban
        public var condition: String

        public init(action: Request.Action, ban: BanBook.Ban, condition: String) { (self.action, self.ban, self.condition) = (action, ban, condition) }
    }

    /// The oldest queued decisions with their sequence numbers (to remove them once shared).
    public func outgoing(limit: Int) throws(GuardStoreError) -> [(seq: Int64, item: Outgoing)] {
        try Self.attempt(path) {
            try database.read { db in
                try Row.fetchAll(db, sql: "SELECT seq, action, ip, since, until, offence, reason, condition FROM shared_outbox ORDER BY seq LIMIT ?",
                                 arguments: [limit]).compactMap { row -> (seq: Int64, item: Outgoing)? in
                    guard let action = Request.Action(rawValue: row["action"]), let target = BanTarget(row["ip"] as String) else { return nil }
                    let ban = BanBook.Ban(target: target, since: row["since"], until: row["until"], offence: row["offence"], reason: row["reason"])
                    return (row["seq"], Outgoing(action: action, ban: ban, condition: row["condition"]))
                }
            }
        }
    }

    /// Forgets queued decisions up to `seq`: they are in the shared database.
    public func removeOutgoing(through seq: Int64) throws(GuardStoreError) {
        try Self.attempt(path) { try database.write { try $0.execute(sql: "DELETE FROM shared_outbox WHERE seq <= ?", arguments: [seq]) } }
    }

    /// A manual ban or unban handed to the running daemon.
    public struct Request: Sendable, Equatable {
        public enum Action: String, Sendable { case ban, unban }
        public var action: Action
        public var target: BanTarget
        /// Ban length; nil is permanent.
        public var seconds: Int?
        /// Why, in the operator's words (`--reason`); nil is "manual".
        public var reason: String?

        public init(action: Action, target: BanTarget, seconds: Int? = nil, reason: String? = nil) {
            (self.action, self.target, self.seconds, self.reason) = (action, target, seconds, reason)
        }
    }

    public func enqueue(_ request: Request) throws(GuardStoreError) {
        try Self.attempt(path) {
            try database.write { db in
                try db.execute(sql: "INSERT INTO requests (action, ip, seconds, reason) VALUES (?, ?, ?, ?)",
                               arguments: [request.action.rawValue, request.target.description, request.seconds, request.reason])
            }
        }
    }

    /// Takes the queued requests, oldest first.
    public func takeRequests() throws(GuardStoreError) -> [Request] {
        try Self.attempt(path) {
            try database.write { db in
                let rows = try Row.fetchAll(db, sql: "SELECT action, ip, seconds, reason FROM requests ORDER BY id")
                guard !rows.isEmpty else { return [] }
                try db.execute(sql: "DELETE FROM requests")
                return rows.compactMap { row in
                    guard let action = Request.Action(rawValue: row["action"]), let target = BanTarget(row["ip"] as String) else { return nil }
                    return Request(action: action, target: target, seconds: row["seconds"], reason: row["reason"])
                }
            }
        }
    }
}

/// The store could not be opened, read or written: which file, what went wrong, what to do.
public struct GuardStoreError: Error, CustomStringConvertible, Equatable {
    public var path: String
    public var problem: String
    public var fix: String

    public init(path: String, problem: String, fix: String) { (self.path, self.problem, self.fix) = (path, problem, fix) }

    init(path: String, databaseError error: DatabaseError) {
        let fix: String
        switch error.resultCode {
        case .SQLITE_FULL: fix = "the disk is full: free space on the file system holding the state directory"
        case .SQLITE_READONLY, .SQLITE_PERM, .SQLITE_AUTH: fix = "the file or its directory is not writable: check permissions and the mount"
        case .SQLITE_CANTOPEN: fix = "check that the state directory exists and is writable"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            fix = "the file is damaged or not a guard store: move it aside; the guard starts a new one (bans in the kernel stay until they expire)"
        case .SQLITE_BUSY, .SQLITE_LOCKED: fix = "another process holds the store: is a second guard running on the same state directory?"
        default: fix = "see SQLite's message above"
        }
        self.init(path: path, problem: error.message ?? "\(error.resultCode)", fix: fix)
    }

    public var description: String { "guard store \(path): \(problem); \(fix)" }
}

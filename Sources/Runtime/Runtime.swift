import Manifest
import Telemetry

/// Brings a manifest's tracks and its nginx up and down. `LocalRuntime` runs child processes and
/// a real nginx on this host; `ComposeRuntime` drives `docker compose`.
public protocol Runtime: Sendable {
    /// Starts a track's app and returns once it answers its health check directly.
    func start(_ track: Track) async throws -> StackState.TrackRecord
    /// Stops a track's app (after nginx no longer routes to it).
    func stop(_ track: Track) async throws
    /// Writes nginx's live configuration for this routing and starts or reloads nginx.
    func route(canaryWeight: Int?) async throws
    /// Stops everything this manifest started.
    func teardown() async throws
    /// What is running now, stale records dropped.
    func state() throws -> StackState
}

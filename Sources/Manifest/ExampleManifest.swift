/// The example manifest `swiftdeploy init --example` writes: the demo service behind nginx with a
/// canary ready to start. The project's own `swiftdeploy.yaml` is this text (a test keeps them equal).
public enum ExampleManifest {
    public static let text = """
    # SwiftDeploy example: the demo service behind nginx, with a canary ready to start.
    # Every field and its default: docs/manifest.md
    name: demo
    state_dir: .swiftdeploy
    runtime: local

    services:
      app:
        image: swiftdeploy-demo:1.0.0
        command: [swiftdeploy-demo, --port, "{port}"]
        port: 3000
        version: 1.0.0
        healthcheck: { path: /healthz, timeout: 60s }
        canary:
          image: swiftdeploy-demo:1.1.0
          version: 1.1.0
          weight: 10

    nginx:
      port: 8080
      proxy_timeout: 15s
      contact: ops@example.com

    policy:
      engine: embedded
      # Tune for your host: the load is per core (a 2-core machine that has just compiled SwiftDeploy runs near 1).
      infrastructure: { max_cpu_load: 4.0, min_disk_free_gb: 1, max_mem_used_pct: 90 }
      canary_safety: { max_error_rate: 5%, max_p99_latency_ms: 500, min_requests: 20, window: 30s }

    guard:
      window: 60s
      baseline: { window: 30m, recalc: 60s, min_points: 10, mean_floor: 0.1 }
      thresholds: { z_score: 3.0, multiplier: 5.0, error_surge: 3.0 }
      bans: [10m, 30m, 2h, permanent]
      enforcer: nftables
      allow: [127.0.0.0/8, "::1"]
      # nginx is the only proxy here; `swiftdeploy demo traffic` sends simulated clients through it with
      # their addresses in X-Forwarded-For. Behind a load balancer, list its addresses instead.
      trusted_proxies: [127.0.0.1]
      slack_webhook: ${SLACK_WEBHOOK_URL:-}

    dashboard:
      listen: 127.0.0.1:9090

    """
}

import Foundation
import TestSupport
import Testing

/// The guard's bans reach traffic Docker forwards to a published port: a Docker engine that manages
/// iptables (as a default install does: DNAT, then the FORWARD path) runs inside a network namespace
/// the test makes, a client in a second one calls the published port, and the real
/// `swiftdeploy guard bans add|remove` runs in the engine's namespace.
@Suite(.serialized, .enabled(if: NamespacePair.isRoot, "needs root: a Docker engine and firewall rules in network namespaces"))
struct GuardBesideContainers {
    @Test func banBlocksAClientOfAPublishedPortAndUnbanLetsItBack() async throws {
        try DockerTestEngine.prepare()
        let pair = try NamespacePair()
        let directory = TestSupport.temporaryDirectory("guard-docker")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let engine = "\(OPAServer.repositoryRoot)/.build/docker-engine-edge"
        let script = "\(OPAServer.repositoryRoot)/scripts/dockerd"
        // nsenter, not `ip netns exec`: that one mounts a sysfs of its own, which hides the cgroup
        // folders the engine needs; only the network namespace changes.
        try pair.sh("nsenter --net=/run/netns/\(pair.server) env SWIFTDEPLOY_DOCKERD_IPTABLES=true bash \(script) start \(engine) 2>&1")
        defer { _ = try? pair.sh("bash \(script) stop \(engine) 2>&1") }
        let edge = "DOCKER_HOST=unix://\(engine)/docker.sock"
        // The demo image, copied from the tests' engine once (the edge engine keeps it).
        let image = DockerTestEngine.demoImages[0]
        if (try? pair.sh("\(edge) docker image inspect \(image)")) == nil {
            try pair.sh("docker save \(image) | \(edge) docker load")
        }
        let network = "edge\(pair.tag)"
        try pair.sh("\(edge) docker network create \(network)")
        defer { _ = try? pair.sh("\(edge) docker network rm \(network)") }
        let container = try pair.sh("\(edge) docker run --detach --rm --network \(network) --publish 8080:3000 \(image)")
        defer { _ = try? pair.sh("\(edge) docker rm --force \(container)") }
        // Docker's own rules, which carry the client's traffic to the container.
        #expect(try pair.sh("ip netns exec \(pair.server) iptables -t nat -S").contains("--dport 8080 -j DNAT"))

        let url = "http://\(pair.serverV4):8080/healthz"
        func status() -> String { (try? pair.sh("ip netns exec \(pair.client) curl -s -m 1 -o /dev/null -w %{http_code} \(url)")) ?? "000" }
        var before = status()
        for _ in 0..<50 where before != "200" {  // bounded: 10 s for the app to listen
            try await Task.sleep(for: .milliseconds(200))
            before = status()
        }
        #expect(before == "200", "the published port answers the client before any ban")

        try "name: edge\nservices: { app: { command: [swiftdeploy-demo], port: 3000 } }\nguard: { enforcer: nftables }\n".write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
        let guardCommand = "cd \(directory) && ip netns exec \(pair.server) \(TestSupport.product("swiftdeploy")) guard bans"
        try pair.sh("\(guardCommand) add \(pair.clientV4) --duration 10m")
        #expect(status() == "000", "banned: the client's requests to the published port fail")
        #expect(try pair.sh("ip netns exec \(pair.server) nft list table inet swiftdeploy").contains("hook forward"))

        try pair.sh("\(guardCommand) remove \(pair.clientV4)")
        #expect(status() == "200", "unbanned: they succeed again")
        _ = try? pair.sh("ip netns exec \(pair.server) nft delete table inet swiftdeploy")
    }
}

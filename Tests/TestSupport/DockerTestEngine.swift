import Foundation
import Spawn

#if canImport(Glibc)
import Glibc
#endif

/// The Docker engine the container tests use: the one the docker CLI reaches when it answers
/// (DOCKER_HOST and an existing engine are respected), else a private one under `.build/docker-engine`
/// started by `scripts/dockerd` and stopped when the test process exits. The images the test
/// manifests name are built into it once per process, offline (`swiftdeploy image build --offline`).
public enum DockerTestEngine {
    /// The demo image under the tags the test manifests use for stable and canary.
    public static let demoImages = ["swiftdeploy-demo:1.0.0", "swiftdeploy-demo:2.0.0"]

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// Makes sure an engine answers and the images are in it; throws why not.
    public static func prepare() throws {
        try ready.get()
    }

    private static let ready: Result<Void, Unavailable> = Result { () throws(Unavailable) in
        if !answers() { try startPrivate() }
        try buildImages()
    }

    /// Whether the engine the docker CLI reaches answers.
    public static func answers() -> Bool {
        (try? shell(["docker", "info", "--format", "{{.ServerVersion}}"]))?.status == 0
    }

    /// Where the private engine lives; its images stay there between runs.
    static var privateDirectory: String { "\(OPAServer.repositoryRoot)/.build/docker-engine" }

    private static func startPrivate() throws(Unavailable) {
        let started = try shell(["bash", "\(OPAServer.repositoryRoot)/scripts/dockerd", "start", privateDirectory])
        guard started.status == 0, let line = started.output.split(separator: "\n").first(where: { $0.hasPrefix("export DOCKER_HOST=") }) else {
            throw Unavailable(description: "no Docker engine answers and a private one did not start (scripts/dockerd):\n\(started.output)")
        }
        setenv("DOCKER_HOST", String(line.dropFirst("export DOCKER_HOST=".count)), 1)
        atexit {
            _ = try? DockerTestEngine.shell(["bash", "\(OPAServer.repositoryRoot)/scripts/dockerd", "stop", DockerTestEngine.privateDirectory])
        }
    }

    private static func buildImages() throws(Unavailable) {
        let directory = TestSupport.temporaryDirectory("images")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        do {
            try """
                name: images
                runtime: compose
                services:
                  app: { image: \(demoImages[0]), port: 3000, canary: { image: \(demoImages[1]), version: 2.0.0 } }
                """.write(toFile: "\(directory)/swiftdeploy.yaml", atomically: true, encoding: .utf8)
            let result = try TestSupport.run("swiftdeploy", ["image", "build", "--offline"], in: directory)
            guard result.status == 0 else {
                throw Unavailable(description: "swiftdeploy image build failed:\n\(result.stdout)\(result.stderr)")
            }
        } catch let error as Unavailable {
            throw error
        } catch {
            throw Unavailable(description: "cannot build the test images: \(error)")
        }
    }

    /// Runs a command to completion, output and error together (posix_spawn with no descriptor of
    /// ours beyond 0-2, so a server the command leaves running never holds our pipe open).
    @discardableResult
    static func shell(_ arguments: [String]) throws(Unavailable) -> (status: Int32, output: String) {
        do {
            return try ChildProcess.run(arguments)
        } catch {
            throw Unavailable(description: "cannot run \(arguments[0]): \(error)")
        }
    }

    /// Ids of the containers a project's label names (running or not).
    public static func containers(project: String) -> [String] {
        let result = try? shell(["docker", "ps", "--all", "--quiet", "--filter", "label=io.swiftdeploy.project=\(project)"])
        return result?.output.split(separator: "\n").map(String.init) ?? []
    }

    /// Whether a Docker network of that name exists.
    public static func hasNetwork(_ name: String) -> Bool {
        (try? shell(["docker", "network", "inspect", name]))?.status == 0
    }
}

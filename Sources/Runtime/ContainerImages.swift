import Foundation
import Manifest
import Spawn
import Vocabulary

#if canImport(Glibc)
import Glibc
#endif

/// `swiftdeploy image build`: makes the images a compose manifest names available in the engine
/// without a registry. The demo service's image is built from a `swiftdeploy-demo` binary and the
/// libraries it links; an nginx image that is neither present nor pullable is stood in for by
/// Debian's nginx; both start from a Debian base that `debootstrap` makes and `docker import` loads.
public struct ContainerImages: Sendable {
    /// The Debian base every image of ours starts from.
    public static let base = "swiftdeploy-base:bookworm"
    /// Images of this repository are the demo service, built from its binary.
    public static let demoRepository = "swiftdeploy-demo"

    public let manifest: Manifest
    public let console: any Console
    /// The binary the demo image carries.
    public let demoBinary: String
    /// Never ask a registry (tests, air-gapped hosts).
    public let offline: Bool
    public let mirror: String

    public init(manifest: Manifest, console: any Console, demoBinary: String, offline: Bool, mirror: String = "http://deb.debian.org/debian") {
        (self.manifest, self.console, self.demoBinary, self.offline, self.mirror) = (manifest, console, demoBinary, offline, mirror)
    }

    /// Where build contexts and the base's root file system are made.
    var workDirectory: String { "\(manifest.stateDirectory)/images" }

    /// The demo tags the manifest names (its service's images in the demo's repository), plus `extra`.
    public func demoTags(extra: [String] = []) -> [String] {
        let named = [manifest.service.image, manifest.service.canary?.image].compactMap { $0 }
            .filter { $0.split(separator: ":").first.map(String.init) == Self.demoRepository }
        return Array(Set(named + extra)).sorted()
    }

    /// Builds (or finds) every image; returns the references now present.
    public func build(extraDemoTags: [String] = []) throws(ProcessError) -> [String] {
        _ = try DockerEngine.connect(manifestFile: manifest.file)
        try ensureNginx(manifest.nginx.image)
        let tags = demoTags(extra: extraDemoTags)
        if !tags.isEmpty { try buildDemo(tags: tags) }
        return [manifest.nginx.image] + tags
    }

    /// The Debian base, imported from a `debootstrap` root file system when the engine lacks it.
    public func ensureBase() throws(ProcessError) {
        if Docker.hasImage(Self.base) { return }
        guard geteuid() == 0 else { throw ProcessError("building \(Self.base) needs root (debootstrap); run `sudo swiftdeploy image build`") }
        let root = "\(workDirectory)/rootfs", archive = "\(workDirectory)/base.tar"
        console.say("image: making \(Self.base) with debootstrap from \(mirror) (about a minute)")
        try? FileManager.default.removeItem(atPath: root)
        try FileWriter.makeDirectory(workDirectory)
        let bootstrap = try ChildProcess.run(["debootstrap", "--variant=minbase", "bookworm", root, mirror])
        guard bootstrap.status == 0 else {
            throw ProcessError("debootstrap failed (is debootstrap installed and \(mirror) reachable? scripts/setup.sh installs it):\n\(bootstrap.output.split(separator: "\n").suffix(5).joined(separator: "\n"))")
        }
        defer {
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: archive)
        }
        let tar = try ChildProcess.run(["tar", "-C", root, "-cf", archive, "."])
        guard tar.status == 0 else { throw ProcessError("tar of \(root) failed:\n\(tar.output)") }
        try Docker.run(["import", "--message", "debootstrap --variant=minbase bookworm", archive, Self.base])
        console.say("image: \(Self.base) imported")
    }

    /// An nginx image under `reference`: present, pulled, or (offline, or when the pull fails) a
    /// stand-in built from Debian's nginx and labelled as one.
    public func ensureNginx(_ reference: String) throws(ProcessError) {
        if Docker.hasImage(reference) {
            console.say("image: \(reference) present")
            return
        }
        if !offline {
            console.say("image: pulling \(reference)")
            if (try? ChildProcess.run(["timeout", "120", "docker", "pull", "--quiet", reference]))?.status == 0 { return }
            console.warn("image: \(reference) could not be pulled; building a stand-in from Debian's nginx")
        }
        try ensureBase()
        let context = try context("nginx")
        try write(String(decoding: PackageResources.nginx_Dockerfile, as: UTF8.self), to: "\(context)/Dockerfile")
        try Docker.run(["build", "--quiet", "--network", "host", "--build-arg", "BASE=\(Self.base)",
                        "--label", "io.swiftdeploy.stand-in=Debian nginx standing in for \(reference)", "--tag", reference, context])
        console.say("image: \(reference) built from Debian's nginx (a stand-in: `docker pull \(reference)` replaces it)")
    }

    /// The demo image under every tag: the binary, the libraries it links beyond the C library, a user of its own.
    public func buildDemo(tags: [String]) throws(ProcessError) {
        guard FileManager.default.isExecutableFile(atPath: demoBinary) else {
            throw ProcessError("\(demoBinary) is not an executable; build it (`swift build -c release --product swiftdeploy-demo --static-swift-stdlib`) or pass --binary")
        }
        try ensureBase()
        let context = try context("demo")
        try FileWriter.makeDirectory("\(context)/lib")
        try copy(demoBinary, to: "\(context)/swiftdeploy-demo")
        let libraries = try Self.linkedLibraries(demoBinary)
        for library in libraries { try copy(library, to: "\(context)/lib/\((library as NSString).lastPathComponent)") }
        try write(String(decoding: PackageResources.demo_Dockerfile, as: UTF8.self), to: "\(context)/Dockerfile")
        try Docker.run(["build", "--quiet", "--network", "host", "--build-arg", "BASE=\(Self.base)"] + tags.flatMap { ["--tag", $0] } + [context])
        console.say("image: \(tags.joined(separator: ", ")) built from \(demoBinary)" + (libraries.isEmpty ? "" : " and \(libraries.count) libraries it links"))
    }

    /// Libraries `ldd` lists for `binary`, but the C library's own, which every base has.
    static func linkedLibraries(_ binary: String) throws(ProcessError) -> [String] {
        let result = try ChildProcess.run(["ldd", binary])
        // "not a dynamic executable": a fully static binary needs nothing.
        guard result.status == 0 else { return [] }
        let glibc = ["linux-vdso", "libc.so", "libm.so", "libpthread.so", "libdl.so", "librt.so", "ld-linux", "libresolv.so", "libutil.so"]
        return result.output.split(separator: "\n").compactMap { line -> String? in
            let parts = line.split(separator: " ")
            guard let arrow = parts.firstIndex(of: "=>"), arrow + 1 < parts.count, parts[arrow + 1].hasPrefix("/") else { return nil }
            let name = String(parts[0].trimmingCharacters(in: .whitespaces))
            return glibc.contains { name.hasPrefix($0) } ? nil : String(parts[arrow + 1])
        }
    }

    private func context(_ name: String) throws(ProcessError) -> String {
        let path = "\(workDirectory)/\(name)"
        try? FileManager.default.removeItem(atPath: path)
        try FileWriter.makeDirectory(path)
        return path
    }

    private func copy(_ source: String, to destination: String) throws(ProcessError) {
        do {
            try FileManager.default.copyItem(atPath: (source as NSString).resolvingSymlinksInPath, toPath: destination)
        } catch {
            throw ProcessError("cannot copy \(source) into the image's build folder: \(error.localizedDescription)")
        }
    }

    private func write(_ text: String, to path: String) throws(ProcessError) {
        do {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
        } catch {
            throw ProcessError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}

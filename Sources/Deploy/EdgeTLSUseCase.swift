import EdgeTLS
import Foundation
import Manifest
import Telemetry
import Vocabulary

extension Stack {
    /// `tls reload`: checks the manifest's certificate and key, copies them beside nginx.conf and
    /// reloads nginx, which gives the new pair to new connections and drops none. A pair that fails
    /// the checks is refused and the edge keeps serving the one it has (certbot's deploy hook).
    public func reloadCertificate() async throws {
        guard let tls = manifest.nginx.tls else {
            throw LifecycleError("\(manifest.file) has no nginx.tls; add certificate and key there (or make a pair: swiftdeploy tls self-signed)")
        }
        let certificate = try EdgeCertificate(certificateFile: tls.certificate, keyFile: tls.key)
        let state = try runtime.state()
        guard state.nginx != nil, let routing = state.routing else {
            throw LifecycleError("nginx of \(manifest.name) is not running; `swiftdeploy deploy` starts it with this certificate")
        }
        try await runtime.route(routing)
        console.say("tls: nginx serves \(certificate.summary)")
        for warning in certificate.warnings { console.say("  warning: \(warning)") }
        try history.record(.tls, ["certificate": .string(tls.certificate), "expires": .string(ISO8601.format(Int(certificate.leaf.notValidAfter.timeIntervalSince1970))),
                                  "days_left": .number(Double(certificate.daysLeft))])
    }
}

/// The policies SwiftDeploy ships, Rego v1. `swiftdeploy init` writes them into the manifest's
/// `policy.dir` (never over a file that exists) for users to read and edit; when that directory
/// does not exist the engine uses these. The text is `DefaultPolicies/*.rego`, embedded in the
/// binary by SwiftPM (`.embedInCode`); the project's `policies/` is a symlink to that folder.
public enum DefaultPolicies {
    public static let files: [(name: String, text: String)] = [
        ("infrastructure.rego", PackageResources.infrastructure_rego),
        ("infrastructure_test.rego", PackageResources.infrastructure_test_rego),
        ("canary_safety.rego", PackageResources.canary_safety_rego),
        ("canary_safety_test.rego", PackageResources.canary_safety_test_rego),
    ].map { ($0.0, String(decoding: $0.1, as: UTF8.self)) }
}

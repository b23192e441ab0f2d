import ArgumentParser
import Foundation
import Spawn

/// What `guard install` and `tls watch` share: which binary the unit runs, where it goes, and
/// whether it is only shown or not started.
struct UnitOptions: ParsableArguments {
    @Option(help: "The swiftdeploy binary the unit runs (default: this one).") var binary: String?
    @Option(help: "Where to write the units.") var unitDirectory: String = SystemdUnits.directory
    @Flag(help: "Print the units instead of writing them.") var print = false
    @Flag(help: "Write the units, but do not enable or start them.") var noStart = false

    var executable: String { get throws { try binary ?? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") } }
}

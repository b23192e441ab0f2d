import Foundation
import TestSupport
import Testing

@testable import Runtime

/// What the demo image carries beside its binary: the libraries it links, but the C library's own.
@Suite struct LinkedLibraries {
    @Test func theDemoBinaryBringsItsSwiftLibrariesAndNotTheCLibrary() throws {
        let libraries = try ContainerImages.linkedLibraries(TestSupport.product("swiftdeploy-demo"))
        let names = libraries.map { ($0 as NSString).lastPathComponent }
        #expect(libraries.allSatisfy { $0.hasPrefix("/") && FileManager.default.fileExists(atPath: $0) }, "\(libraries)")
        #expect(!names.contains { $0.hasPrefix("libc.so") || $0.hasPrefix("ld-linux") || $0.hasPrefix("libm.so") }, "\(names)")
        // A debug build links the Swift runtime dynamically (a release build with --static-swift-stdlib does not).
        #expect(names.contains { $0.hasPrefix("libswiftCore") }, "\(names)")
    }

    @Test func aProgramLinkingOnlyTheCLibraryNeedsNothing() throws {
        #expect(try ContainerImages.linkedLibraries("/bin/true").isEmpty)
    }
}

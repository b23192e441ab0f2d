import Spawn
import Testing

/// Filling unit templates: a unit file is line-oriented and splits values at spaces, so a value that
/// would change the unit is refused, and `%` (systemd's specifiers) is written `%%`.
@Suite struct SystemdUnitFilling {
    let template = Array("[Service]\nExecStart=@BINARY@ run -f @MANIFEST@\nUser=@USER@\n".utf8)

    @Test func placeholdersAreFilledAndPercentSignsDoubled() throws {
        let text = try SystemdUnits.fill(template, [("BINARY", "/usr/bin/swiftdeploy"), ("MANIFEST", "/srv/100%/swiftdeploy.yaml"), ("USER", "shop")])
        #expect(text == "[Service]\nExecStart=/usr/bin/swiftdeploy run -f /srv/100%%/swiftdeploy.yaml\nUser=shop\n")
    }

    @Test(arguments: ["/srv/a\nExecStartPre=/bin/sh", "/srv/my app", "/srv/\"x", "/srv/'x", "/srv/a\\b", "/srv/a;b", "/srv/\u{1b}[31m", "/srv/\t"])
    func aValueThatWouldChangeTheUnitIsRefused(value: String) {
        #expect { try SystemdUnits.fill(template, [("BINARY", "/usr/bin/swiftdeploy"), ("MANIFEST", value), ("USER", "shop")]) } throws: {
            "\($0)".contains("cannot go into a systemd unit")
        }
    }
}

import Testing

@testable import Telemetry

@Suite struct PrometheusTextParsing {
    @Test func readsSamplesLabelsAndSpecialValues() throws {
        let text = try PrometheusText(parsing: """
            # HELP x help
            # TYPE x counter
            x{a="1",b="two words"} 3
            y 4.5 1700000000
            z{le="+Inf"} 7
            q{path="a\\"b"} 0

            """)
        #expect(text.samples.count == 4)
        #expect(text.value("x", ["a": "1"]) == 3)
        #expect(text.value("x", ["b": "two words"]) == 3)
        #expect(text.value("y") == 4.5)
        #expect(text.value("z", ["le": "+Inf"]) == 7)
        #expect(text.samples[3].labels["path"] == "a\"b")
        #expect(text.value("missing") == nil)
        #expect(text.sum("x") == 3)
    }

    /// The app's metrics are not trusted: values nothing could count are refused, never converted.
    @Test(arguments: ["NaN", "+Inf", "-Inf", "1e300", "-1e17", "nan", "inf"])
    func refusesValuesThatAreNotFiniteCounts(value: String) {
        #expect(throws: PrometheusTextError.self) { try PrometheusText(parsing: "ok 1\nchaos_active \(value)\n") }
    }

    @Test func namesTheBadLine() {
        #expect(throws: PrometheusTextError(line: 2, reason: "x has no numeric value")) {
            try PrometheusText(parsing: "ok 1\nx abc\n")
        }
        #expect(throws: PrometheusTextError(line: 1, reason: "unterminated label value for a")) {
            try PrometheusText(parsing: "x{a=\"1} 2")
        }
    }
}

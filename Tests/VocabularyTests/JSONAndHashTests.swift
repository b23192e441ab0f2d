import Foundation
import Testing
import Vocabulary

@Suite struct JSONValueCoding {
    @Test func parsesEveryKindAndPrintsSortedCompactJSON() throws {
        let text = #"{"b": {"z": null, "a": [1, 2.5, true, false, "line\nbreak \"quoted\""]}, "a": -3e2}"#
        let value = try #require(JSONValue(parsing: Data(text.utf8)))
        #expect(value == ["a": -300, "b": ["z": nil, "a": [1, 2.5, true, false, "line\nbreak \"quoted\""]]])
        #expect(value.description == #"{"a":-300,"b":{"a":[1,2.5,true,false,"line\nbreak \"quoted\""],"z":null}}"#)
    }

    @Test func notJSONIsNilAndNonFiniteNumbersAreNull() {
        #expect(JSONValue(parsing: Data("{not json".utf8)) == nil)
        #expect(JSONValue.array([.number(.nan), .number(.infinity)]).description == "[null,null]")
    }
}

/// The published test vectors (FIPS 180-2 examples, and the million-`a` message).
@Suite struct SHA256Vectors {  // FIPS 180-2 test vectors, through our hex form
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ])
    func digest(message: String, expected: String) {
        #expect(ContentHash.sha256(Array(message.utf8)) == expected)
    }
}

/// JSON's numbers stay numbers and its booleans booleans, whatever Foundation's decoder would
/// convert (`POST /chaos` with `"rate": 1` was refused as a boolean).
struct JSONValueKinds {
    @Test func oneIsANumberAndTrueIsABoolean() throws {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(#"{"a":1,"b":1.0,"c":true,"d":0,"e":false,"f":0.5}"#.utf8))
        #expect(value["a"] == .number(1) && value["b"] == .number(1) && value["d"] == .number(0) && value["f"] == .number(0.5))
        #expect(value["c"] == .bool(true) && value["e"] == .bool(false))
    }
}

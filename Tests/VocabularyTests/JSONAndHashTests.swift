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
@Suite struct SHA256Vectors {
    @Test(arguments: [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ])
    func digest(message: String, expected: String) {
        #expect(SHA256.hex(Array(message.utf8)) == expected)
    }
}

/// The dashboard's page, script and style, from `Assets/` and embedded in the binary by SwiftPM
/// (`.embedInCode`): nothing is fetched from anywhere else, and no resource bundle is needed at
/// run time. Everything the server sends is put into the page as text (`textContent`), never as
/// markup, and the Content-Security-Policy forbids inline script besides.
enum Assets {
    static let page = String(decoding: PackageResources.index_html, as: UTF8.self)
    static let script = String(decoding: PackageResources.app_js, as: UTF8.self)
    static let style = String(decoding: PackageResources.app_css, as: UTF8.self)

    /// `login.html` with its `<!--failed-->` line replaced by the error, or by nothing.
    static func login(failed: Bool) -> String {
        loginTemplate.replacing("<!--failed-->", with: failed ? "<p class=\"block\">That token is not right.</p>" : "")
    }

    private static let loginTemplate = String(decoding: PackageResources.login_html, as: UTF8.self)
}

/// The longest timeout each kernel firewall holds for one entry: nft refuses 100,000,000 s or more,
/// ipset more than 2,147,483 s (its milliseconds are a signed 32-bit number). A longer ban goes into
/// the kernel without a timeout and the guard lifts it when due. Shared by the enforcers that write
/// the timeouts and by `validate`, which says which ban lengths are held that way.
public enum FirewallTimeouts {
    public static let nftables = 99_999_999
    public static let ipset = 2_147_483
}

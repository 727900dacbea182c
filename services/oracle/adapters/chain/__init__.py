"""The oracle's Ethereum edge: the contract, report signing, the reliable sender, the reader."""

// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title Match results signed off-chain by k of n oracle signers, corrected until a dispute
/// window closes, then final.
/// @notice Signer-set changes are timelocked inside the contract (propose -> delay -> execute,
/// each with its event) and need a strict majority (k > n/2), so one admin key cannot swap in
/// signers of its own unseen: the change is public for `configDelay` before it can apply.
/// Each fixture keeps one storage slot (the latest accepted report); the sources hash is
/// carried by the events only, which keeps a published result at a single SSTORE and lets a
/// batch of reports share one set of signatures.
contract ResultOracle is AccessControl, EIP712 {
    bytes32 public constant TRANSMITTER_ROLE = keccak256("TRANSMITTER_ROLE");

    bytes32 public constant REPORT_TYPEHASH = keccak256(
        "ResultReport(bytes32 fixtureId,uint8 status,uint32 homeScore,uint32 awayScore,"
        "bytes32 sourcesHash,uint64 version,uint64 observedAt,uint64 configVersion)"
    );
    bytes32 public constant BATCH_TYPEHASH = keccak256(
        "ResultBatch(ResultReport[] reports)"
        "ResultReport(bytes32 fixtureId,uint8 status,uint32 homeScore,uint32 awayScore,"
        "bytes32 sourcesHash,uint64 version,uint64 observedAt,uint64 configVersion)"
    );

    uint8 public constant STATUS_COMPLETED = 1;
    uint8 public constant STATUS_ABANDONED = 2;
    uint8 public constant STATUS_CANCELLED = 3;

    struct Report {
        bytes32 fixtureId;
        uint8 status;
        uint32 homeScore;
        uint32 awayScore;
        bytes32 sourcesHash;
        uint64 version;
        uint64 observedAt;
        // The signer set the report was signed for: a rotation makes old signatures useless.
        uint64 configVersion;
    }

    /// One slot: 1 + 4 + 4 + 8 + 5 + 5 + 1 bytes.
    struct Result {
        uint8 status;
        uint32 homeScore;
        uint32 awayScore;
        uint64 version;
        uint40 observedAt;
        // When the first version was accepted: the dispute window runs from here.
        uint40 firstAcceptedAt;
        bool finalised;
    }

    /// The shortest delay a deployment may choose between proposing and executing a config.
    uint64 public constant MIN_CONFIG_DELAY = 1 hours;

    uint64 public immutable disputeWindow;
    uint64 public immutable configDelay;
    uint64 public configVersion;
    uint8 public threshold;
    address[] private _signers;
    /// signer => the config version it belongs to (0: none); rotation needs no clean-up.
    mapping(address => uint64) private _signerConfig;
    mapping(bytes32 => Result) private _results;
    /// proposal id => when it may execute (0: none). An id binds the config version it
    /// replaces, so a proposal made before another change can never apply after it.
    mapping(bytes32 => uint256) private _proposals;

    event ConfigProposed(
        bytes32 indexed proposalId,
        uint64 replacesConfigVersion,
        address[] signers,
        uint8 threshold,
        uint256 executableAt
    );
    event ConfigCancelled(bytes32 indexed proposalId);
    event ConfigSet(uint64 indexed configVersion, address[] signers, uint8 threshold);
    event ResultSubmitted(
        bytes32 indexed fixtureId,
        uint64 version,
        uint8 status,
        uint32 homeScore,
        uint32 awayScore,
        bytes32 sourcesHash,
        uint64 observedAt
    );
    event ResultCorrected(
        bytes32 indexed fixtureId,
        uint64 version,
        uint8 status,
        uint32 homeScore,
        uint32 awayScore,
        bytes32 sourcesHash,
        uint64 observedAt
    );
    event ResultFinalised(
        bytes32 indexed fixtureId, uint64 version, uint8 status, uint32 homeScore, uint32 awayScore
    );

    error EmptyBatch();
    error InvalidConfig();
    error InvalidStatus(bytes32 fixtureId, uint8 status);
    error InvalidVersion(bytes32 fixtureId);
    error WrongConfigVersion(uint64 expected, uint64 given);
    error StaleVersion(bytes32 fixtureId, uint64 current, uint64 given);
    error ResultIsFinal(bytes32 fixtureId);
    error UnknownFixture(bytes32 fixtureId);
    error DisputeWindowOpen(bytes32 fixtureId, uint256 closesAt);
    error NotEnoughSignatures(uint256 given, uint256 required);
    error InvalidSignature(uint256 index);
    error SignersNotAscending(uint256 index);
    error NotASigner(address signer);
    error InvalidDelay(uint64 given, uint64 minimum);
    error UnknownProposal(bytes32 proposalId);
    error ProposalPending(bytes32 proposalId);
    error ProposalNotReady(bytes32 proposalId, uint256 executableAt);

    constructor(
        address admin,
        address[] memory signers_,
        uint8 threshold_,
        uint64 disputeWindow_,
        uint64 configDelay_
    ) EIP712("BetmeshResultOracle", "1") {
        if (configDelay_ < MIN_CONFIG_DELAY) revert InvalidDelay(configDelay_, MIN_CONFIG_DELAY);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        disputeWindow = disputeWindow_;
        configDelay = configDelay_;
        _checkConfig(signers_, threshold_);
        _setConfig(signers_, threshold_);
    }

    // ---- administration (timelocked) --------------------------------------------------

    /// The id a proposal of this config gets while `configVersion` is the current one.
    function proposalId(address[] calldata signers_, uint8 threshold_)
        public
        view
        returns (bytes32)
    {
        return keccak256(abi.encode(signers_, threshold_, configVersion));
    }

    /// Queues a replacement signer set; it may execute `configDelay` seconds from now.
    function proposeConfig(address[] calldata signers_, uint8 threshold_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
        returns (bytes32 id)
    {
        _checkConfig(signers_, threshold_);
        id = proposalId(signers_, threshold_);
        if (_proposals[id] != 0) revert ProposalPending(id);
        uint256 executableAt = block.timestamp + configDelay;
        _proposals[id] = executableAt;
        emit ConfigProposed(id, configVersion, signers_, threshold_, executableAt);
    }

    /// Applies a queued signer set once its delay has passed; reports signed for the previous
    /// set no longer verify.
    function executeConfig(address[] calldata signers_, uint8 threshold_)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        bytes32 id = proposalId(signers_, threshold_);
        uint256 executableAt = _proposals[id];
        if (executableAt == 0) revert UnknownProposal(id);
        if (block.timestamp < executableAt) revert ProposalNotReady(id, executableAt);
        delete _proposals[id];
        _setConfig(signers_, threshold_);
    }

    function cancelConfig(bytes32 id) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_proposals[id] == 0) revert UnknownProposal(id);
        delete _proposals[id];
        emit ConfigCancelled(id);
    }

    /// When a proposal may execute (0: no such proposal).
    function proposalExecutableAt(bytes32 id) external view returns (uint256) {
        return _proposals[id];
    }

    /// A strict majority (k > n/2), signers ascending (no duplicates, no zero address).
    function _checkConfig(address[] memory signers_, uint8 threshold_) private pure {
        uint256 n = signers_.length;
        if (threshold_ == 0 || threshold_ > n || 2 * uint256(threshold_) <= n) {
            revert InvalidConfig();
        }
        address last = address(0);
        for (uint256 i = 0; i < n; i++) {
            if (signers_[i] <= last) revert InvalidConfig();
            last = signers_[i];
        }
    }

    function _setConfig(address[] memory signers_, uint8 threshold_) private {
        uint64 next = configVersion + 1;
        for (uint256 i = 0; i < signers_.length; i++) {
            _signerConfig[signers_[i]] = next;
        }
        _signers = signers_;
        threshold = threshold_;
        configVersion = next;
        emit ConfigSet(next, signers_, threshold_);
    }

    // ---- publishing -------------------------------------------------------------------

    function submit(Report calldata report, bytes[] calldata signatures)
        external
        onlyRole(TRANSMITTER_ROLE)
    {
        _verify(_hashTypedDataV4(_hashReport(report)), signatures);
        _accept(report);
    }

    /// Several reports under one set of signatures over the whole batch.
    function submitBatch(Report[] calldata reports, bytes[] calldata signatures)
        external
        onlyRole(TRANSMITTER_ROLE)
    {
        if (reports.length == 0) revert EmptyBatch();
        _verify(batchDigest(reports), signatures);
        for (uint256 i = 0; i < reports.length; i++) {
            _accept(reports[i]);
        }
    }

    /// Closes fixtures whose dispute window has passed; anyone may call it. Already final
    /// fixtures are skipped, so each emits ResultFinalised exactly once.
    function finalise(bytes32[] calldata fixtureIds) external {
        for (uint256 i = 0; i < fixtureIds.length; i++) {
            bytes32 id = fixtureIds[i];
            Result storage result = _results[id];
            if (result.version == 0) revert UnknownFixture(id);
            if (result.finalised) continue;
            uint256 closesAt = uint256(result.firstAcceptedAt) + disputeWindow;
            if (block.timestamp < closesAt) revert DisputeWindowOpen(id, closesAt);
            result.finalised = true;
            emit ResultFinalised(
                id, result.version, result.status, result.homeScore, result.awayScore
            );
        }
    }

    function _accept(Report calldata report) private {
        bytes32 id = report.fixtureId;
        if (report.status == 0 || report.status > STATUS_CANCELLED) {
            revert InvalidStatus(id, report.status);
        }
        if (report.version == 0 || report.observedAt > type(uint40).max) revert InvalidVersion(id);
        if (report.configVersion != configVersion) {
            revert WrongConfigVersion(configVersion, report.configVersion);
        }
        Result memory current = _results[id];
        if (report.version <= current.version) {
            revert StaleVersion(id, current.version, report.version);
        }
        bool correction = current.version != 0;
        uint40 firstAcceptedAt = current.firstAcceptedAt;
        if (correction) {
            if (current.finalised || block.timestamp >= uint256(firstAcceptedAt) + disputeWindow)
            {
                revert ResultIsFinal(id);
            }
        } else {
            firstAcceptedAt = uint40(block.timestamp);
        }
        _results[id] = Result({
            status: report.status,
            homeScore: report.homeScore,
            awayScore: report.awayScore,
            version: report.version,
            observedAt: uint40(report.observedAt),
            firstAcceptedAt: firstAcceptedAt,
            finalised: false
        });
        if (correction) {
            emit ResultCorrected(
                id,
                report.version,
                report.status,
                report.homeScore,
                report.awayScore,
                report.sourcesHash,
                report.observedAt
            );
        } else {
            emit ResultSubmitted(
                id,
                report.version,
                report.status,
                report.homeScore,
                report.awayScore,
                report.sourcesHash,
                report.observedAt
            );
        }
    }

    function _verify(bytes32 digest, bytes[] calldata signatures) private view {
        uint256 required = threshold;
        if (signatures.length < required) revert NotEnoughSignatures(signatures.length, required);
        uint64 config = configVersion;
        address last = address(0);
        for (uint256 i = 0; i < signatures.length; i++) {
            (address signer, ECDSA.RecoverError recoverError,) = ECDSA.tryRecover(digest, signatures[i]);
            if (recoverError != ECDSA.RecoverError.NoError) revert InvalidSignature(i);
            if (signer <= last) revert SignersNotAscending(i);
            if (_signerConfig[signer] != config) revert NotASigner(signer);
            last = signer;
        }
    }

    // ---- reading ----------------------------------------------------------------------

    function isFinal(bytes32 fixtureId) public view returns (bool) {
        Result memory result = _results[fixtureId];
        if (result.version == 0) return false;
        return result.finalised
            || block.timestamp >= uint256(result.firstAcceptedAt) + disputeWindow;
    }

    function latest(bytes32 fixtureId) external view returns (Result memory) {
        Result memory result = _results[fixtureId];
        if (result.version == 0) revert UnknownFixture(fixtureId);
        return result;
    }

    function signers() external view returns (address[] memory) {
        return _signers;
    }

    function reportDigest(Report calldata report) external view returns (bytes32) {
        return _hashTypedDataV4(_hashReport(report));
    }

    function batchDigest(Report[] calldata reports) public view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](reports.length);
        for (uint256 i = 0; i < reports.length; i++) {
            hashes[i] = _hashReport(reports[i]);
        }
        return _hashTypedDataV4(
            keccak256(abi.encode(BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes))))
        );
    }

    function _hashReport(Report calldata report) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                REPORT_TYPEHASH,
                report.fixtureId,
                report.status,
                report.homeScore,
                report.awayScore,
                report.sourcesHash,
                report.version,
                report.observedAt,
                report.configVersion
            )
        );
    }
}

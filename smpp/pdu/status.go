package pdu

import (
	"fmt"
	"strconv"
	"strings"
)

// Status is a command_status value (§5.1.3). Status implements error so that
// a refusal from the peer can travel up as an error and be tested with
// errors.As or errors.Is; StatusOK is not meant to be returned as an error.
// Being an error, a Status formats with %s and %v as Error's text (name and
// description); call String for the bare name.
type Status uint32

// The SMPP 3.4 command_status values (§5.1.3). Each constant's comment is
// the name String returns.
const (
	StatusOK              Status = 0x00000000 // ESME_ROK
	StatusInvMsgLen       Status = 0x00000001 // ESME_RINVMSGLEN
	StatusInvCmdLen       Status = 0x00000002 // ESME_RINVCMDLEN
	StatusInvCmdID        Status = 0x00000003 // ESME_RINVCMDID
	StatusInvBndSts       Status = 0x00000004 // ESME_RINVBNDSTS
	StatusAlyBnd          Status = 0x00000005 // ESME_RALYBND
	StatusInvPrtFlg       Status = 0x00000006 // ESME_RINVPRTFLG
	StatusInvRegDlvFlg    Status = 0x00000007 // ESME_RINVREGDLVFLG
	StatusSysErr          Status = 0x00000008 // ESME_RSYSERR
	StatusInvSrcAdr       Status = 0x0000000A // ESME_RINVSRCADR
	StatusInvDstAdr       Status = 0x0000000B // ESME_RINVDSTADR
	StatusInvMsgID        Status = 0x0000000C // ESME_RINVMSGID
	StatusBindFail        Status = 0x0000000D // ESME_RBINDFAIL
	StatusInvPaswd        Status = 0x0000000E // ESME_RINVPASWD
	StatusInvSysID        Status = 0x0000000F // ESME_RINVSYSID
	StatusCancelFail      Status = 0x00000011 // ESME_RCANCELFAIL
	StatusReplaceFail     Status = 0x00000013 // ESME_RREPLACEFAIL
	StatusMsgQFul         Status = 0x00000014 // ESME_RMSGQFUL
	StatusInvSerTyp       Status = 0x00000015 // ESME_RINVSERTYP
	StatusInvNumDests     Status = 0x00000033 // ESME_RINVNUMDESTS
	StatusInvDLName       Status = 0x00000034 // ESME_RINVDLNAME
	StatusInvDestFlag     Status = 0x00000040 // ESME_RINVDESTFLAG
	StatusInvSubRep       Status = 0x00000042 // ESME_RINVSUBREP
	StatusInvEsmClass     Status = 0x00000043 // ESME_RINVESMCLASS
	StatusCntSubDL        Status = 0x00000044 // ESME_RCNTSUBDL
	StatusSubmitFail      Status = 0x00000045 // ESME_RSUBMITFAIL
	StatusInvSrcTON       Status = 0x00000048 // ESME_RINVSRCTON
	StatusInvSrcNPI       Status = 0x00000049 // ESME_RINVSRCNPI
	StatusInvDstTON       Status = 0x00000050 // ESME_RINVDSTTON
	StatusInvDstNPI       Status = 0x00000051 // ESME_RINVDSTNPI
	StatusInvSysTyp       Status = 0x00000053 // ESME_RINVSYSTYP
	StatusInvRepFlag      Status = 0x00000054 // ESME_RINVREPFLAG
	StatusInvNumMsgs      Status = 0x00000055 // ESME_RINVNUMMSGS
	StatusThrottled       Status = 0x00000058 // ESME_RTHROTTLED
	StatusInvSched        Status = 0x00000061 // ESME_RINVSCHED
	StatusInvExpiry       Status = 0x00000062 // ESME_RINVEXPIRY
	StatusInvDftMsgID     Status = 0x00000063 // ESME_RINVDFTMSGID
	StatusXTAppn          Status = 0x00000064 // ESME_RX_T_APPN
	StatusXPAppn          Status = 0x00000065 // ESME_RX_P_APPN
	StatusXRAppn          Status = 0x00000066 // ESME_RX_R_APPN
	StatusQueryFail       Status = 0x00000067 // ESME_RQUERYFAIL
	StatusInvOptParStream Status = 0x000000C0 // ESME_RINVOPTPARSTREAM
	StatusOptParNotAllwd  Status = 0x000000C1 // ESME_ROPTPARNOTALLWD
	StatusInvParLen       Status = 0x000000C2 // ESME_RINVPARLEN
	StatusMissingOptParam Status = 0x000000C3 // ESME_RMISSINGOPTPARAM
	StatusInvOptParamVal  Status = 0x000000C4 // ESME_RINVOPTPARAMVAL
	StatusDeliveryFailure Status = 0x000000FE // ESME_RDELIVERYFAILURE
	StatusUnknownErr      Status = 0x000000FF // ESME_RUNKNOWNERR
)

type statusInfo struct{ name, text string }

var statusTable = map[Status]statusInfo{
	StatusOK:              {"ESME_ROK", "no error"},
	StatusInvMsgLen:       {"ESME_RINVMSGLEN", "message length is invalid"},
	StatusInvCmdLen:       {"ESME_RINVCMDLEN", "command length is invalid"},
	StatusInvCmdID:        {"ESME_RINVCMDID", "invalid command id"},
	StatusInvBndSts:       {"ESME_RINVBNDSTS", "incorrect bind status for given command"},
	StatusAlyBnd:          {"ESME_RALYBND", "ESME already in bound state"},
	StatusInvPrtFlg:       {"ESME_RINVPRTFLG", "invalid priority flag"},
	StatusInvRegDlvFlg:    {"ESME_RINVREGDLVFLG", "invalid registered delivery flag"},
	StatusSysErr:          {"ESME_RSYSERR", "system error"},
	StatusInvSrcAdr:       {"ESME_RINVSRCADR", "invalid source address"},
	StatusInvDstAdr:       {"ESME_RINVDSTADR", "invalid destination address"},
	StatusInvMsgID:        {"ESME_RINVMSGID", "message id is invalid"},
	StatusBindFail:        {"ESME_RBINDFAIL", "bind failed"},
	StatusInvPaswd:        {"ESME_RINVPASWD", "invalid password"},
	StatusInvSysID:        {"ESME_RINVSYSID", "invalid system id"},
	StatusCancelFail:      {"ESME_RCANCELFAIL", "cancel_sm failed"},
	StatusReplaceFail:     {"ESME_RREPLACEFAIL", "replace_sm failed"},
	StatusMsgQFul:         {"ESME_RMSGQFUL", "message queue full"},
	StatusInvSerTyp:       {"ESME_RINVSERTYP", "invalid service type"},
	StatusInvNumDests:     {"ESME_RINVNUMDESTS", "invalid number of destinations"},
	StatusInvDLName:       {"ESME_RINVDLNAME", "invalid distribution list name"},
	StatusInvDestFlag:     {"ESME_RINVDESTFLAG", "destination flag is invalid (submit_multi)"},
	StatusInvSubRep:       {"ESME_RINVSUBREP", "invalid submit with replace request"},
	StatusInvEsmClass:     {"ESME_RINVESMCLASS", "invalid esm_class field data"},
	StatusCntSubDL:        {"ESME_RCNTSUBDL", "cannot submit to distribution list"},
	StatusSubmitFail:      {"ESME_RSUBMITFAIL", "submit_sm or submit_multi failed"},
	StatusInvSrcTON:       {"ESME_RINVSRCTON", "invalid source address TON"},
	StatusInvSrcNPI:       {"ESME_RINVSRCNPI", "invalid source address NPI"},
	StatusInvDstTON:       {"ESME_RINVDSTTON", "invalid destination address TON"},
	StatusInvDstNPI:       {"ESME_RINVDSTNPI", "invalid destination address NPI"},
	StatusInvSysTyp:       {"ESME_RINVSYSTYP", "invalid system_type field"},
	StatusInvRepFlag:      {"ESME_RINVREPFLAG", "invalid replace_if_present flag"},
	StatusInvNumMsgs:      {"ESME_RINVNUMMSGS", "invalid number of messages"},
	StatusThrottled:       {"ESME_RTHROTTLED", "throttling error (ESME has exceeded allowed message limits)"},
	StatusInvSched:        {"ESME_RINVSCHED", "invalid scheduled delivery time"},
	StatusInvExpiry:       {"ESME_RINVEXPIRY", "invalid message validity period (expiry time)"},
	StatusInvDftMsgID:     {"ESME_RINVDFTMSGID", "predefined message invalid or not found"},
	StatusXTAppn:          {"ESME_RX_T_APPN", "ESME receiver temporary app error code"},
	StatusXPAppn:          {"ESME_RX_P_APPN", "ESME receiver permanent app error code"},
	StatusXRAppn:          {"ESME_RX_R_APPN", "ESME receiver reject message error code"},
	StatusQueryFail:       {"ESME_RQUERYFAIL", "query_sm request failed"},
	StatusInvOptParStream: {"ESME_RINVOPTPARSTREAM", "error in the optional part of the PDU body"},
	StatusOptParNotAllwd:  {"ESME_ROPTPARNOTALLWD", "optional parameter not allowed"},
	StatusInvParLen:       {"ESME_RINVPARLEN", "invalid parameter length"},
	StatusMissingOptParam: {"ESME_RMISSINGOPTPARAM", "expected optional parameter missing"},
	StatusInvOptParamVal:  {"ESME_RINVOPTPARAMVAL", "invalid optional parameter value"},
	StatusDeliveryFailure: {"ESME_RDELIVERYFAILURE", "delivery failure (data_sm_resp)"},
	StatusUnknownErr:      {"ESME_RUNKNOWNERR", "unknown error"},
}

// String gives the spec name ("ESME_RTHROTTLED"); a value the spec does not
// define, such as an SMSC vendor code in 0x400-0x4FF, prints as hex.
func (s Status) String() string {
	if info, ok := statusTable[s]; ok {
		return info.name
	}
	return fmt.Sprintf("0x%08X", uint32(s))
}

// Error gives the name and the spec's description:
// "ESME_RTHROTTLED: throttling error (...)".
func (s Status) Error() string {
	if info, ok := statusTable[s]; ok {
		return info.name + ": " + info.text
	}
	if s >= 0x400 && s <= 0x4FF {
		return fmt.Sprintf("command_status 0x%08X: SMSC vendor-specific error", uint32(s))
	}
	return fmt.Sprintf("command_status 0x%08X: reserved or unknown", uint32(s))
}

// Class groups statuses by what the sender of the request should do next.
type Class uint8

const (
	// ClassOK is StatusOK.
	ClassOK Class = iota
	// ClassThrottle: the SMSC wants the whole session to slow down and
	// retry later, keeping message order (ESME_RTHROTTLED,
	// ESME_RMSGQFUL).
	ClassThrottle
	// ClassTemporary: retry this request with backoff (ESME_RSYSERR,
	// ESME_RX_T_APPN).
	ClassTemporary
	// ClassRebind: the session is not in a state to take the request;
	// bind again (ESME_RINVBNDSTS).
	ClassRebind
	// ClassBindBusy: the bind slot is taken, often by our own stale
	// session the SMSC has not noticed is gone; back off longer than
	// usual before binding again (ESME_RALYBND, ESME_RBINDFAIL).
	ClassBindBusy
	// ClassBadCredentials: retrying cannot help until someone fixes the
	// configuration; stop reconnecting (ESME_RINVPASWD, ESME_RINVSYSID,
	// ESME_RINVSYSTYP).
	ClassBadCredentials
	// ClassPermanent: the request itself was refused; do not retry it.
	// Every status not named above, unknown ones included.
	ClassPermanent
)

func (c Class) String() string {
	switch c {
	case ClassOK:
		return "ok"
	case ClassThrottle:
		return "throttle"
	case ClassTemporary:
		return "temporary"
	case ClassRebind:
		return "rebind"
	case ClassBindBusy:
		return "bind-busy"
	case ClassBadCredentials:
		return "bad-credentials"
	case ClassPermanent:
		return "permanent"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Class says how retry logic should treat the status. The mapping follows
// Kannel's proven defaults, with ESME_RMSGQFUL treated like throttling (it
// is the same condition seen from the queue) and the bind statuses split
// so that a busy slot backs off while bad credentials stop for good.
func (s Status) Class() Class {
	switch s {
	case StatusOK:
		return ClassOK
	case StatusThrottled, StatusMsgQFul:
		return ClassThrottle
	case StatusSysErr, StatusXTAppn:
		return ClassTemporary
	case StatusInvBndSts:
		return ClassRebind
	case StatusAlyBnd, StatusBindFail:
		return ClassBindBusy
	case StatusInvPaswd, StatusInvSysID, StatusInvSysTyp:
		return ClassBadCredentials
	}
	return ClassPermanent
}

// ParseStatus reads a command_status as a person writes it: the spec name
// ("ESME_RTHROTTLED", case-insensitive, the "ESME_" prefix optional) or a
// number ("0x58", "88").
func ParseStatus(s string) (Status, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	if t == "" {
		return 0, fmt.Errorf("empty command_status")
	}
	if !strings.HasPrefix(t, "ESME_") {
		if n, err := strconv.ParseUint(strings.ToLower(t), 0, 32); err == nil {
			return Status(n), nil
		}
		t = "ESME_" + t
	}
	for st, info := range statusTable {
		if info.name == t {
			return st, nil
		}
	}
	return 0, fmt.Errorf("unknown command_status %q: want a name such as ESME_RTHROTTLED or a number such as 0x58", s)
}

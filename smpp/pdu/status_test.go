package pdu_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/smsagent/smsagent/smpp/pdu"
)

// specStatuses is §5.1.3 of SMPP 3.4, value and name, typed in from the
// spec's table.
var specStatuses = []struct {
	s    pdu.Status
	v    uint32
	name string
}{
	{pdu.StatusOK, 0x00, "ESME_ROK"},
	{pdu.StatusInvMsgLen, 0x01, "ESME_RINVMSGLEN"},
	{pdu.StatusInvCmdLen, 0x02, "ESME_RINVCMDLEN"},
	{pdu.StatusInvCmdID, 0x03, "ESME_RINVCMDID"},
	{pdu.StatusInvBndSts, 0x04, "ESME_RINVBNDSTS"},
	{pdu.StatusAlyBnd, 0x05, "ESME_RALYBND"},
	{pdu.StatusInvPrtFlg, 0x06, "ESME_RINVPRTFLG"},
	{pdu.StatusInvRegDlvFlg, 0x07, "ESME_RINVREGDLVFLG"},
	{pdu.StatusSysErr, 0x08, "ESME_RSYSERR"},
	{pdu.StatusInvSrcAdr, 0x0A, "ESME_RINVSRCADR"},
	{pdu.StatusInvDstAdr, 0x0B, "ESME_RINVDSTADR"},
	{pdu.StatusInvMsgID, 0x0C, "ESME_RINVMSGID"},
	{pdu.StatusBindFail, 0x0D, "ESME_RBINDFAIL"},
	{pdu.StatusInvPaswd, 0x0E, "ESME_RINVPASWD"},
	{pdu.StatusInvSysID, 0x0F, "ESME_RINVSYSID"},
	{pdu.StatusCancelFail, 0x11, "ESME_RCANCELFAIL"},
	{pdu.StatusReplaceFail, 0x13, "ESME_RREPLACEFAIL"},
	{pdu.StatusMsgQFul, 0x14, "ESME_RMSGQFUL"},
	{pdu.StatusInvSerTyp, 0x15, "ESME_RINVSERTYP"},
	{pdu.StatusInvNumDests, 0x33, "ESME_RINVNUMDESTS"},
	{pdu.StatusInvDLName, 0x34, "ESME_RINVDLNAME"},
	{pdu.StatusInvDestFlag, 0x40, "ESME_RINVDESTFLAG"},
	{pdu.StatusInvSubRep, 0x42, "ESME_RINVSUBREP"},
	{pdu.StatusInvEsmClass, 0x43, "ESME_RINVESMCLASS"},
	{pdu.StatusCntSubDL, 0x44, "ESME_RCNTSUBDL"},
	{pdu.StatusSubmitFail, 0x45, "ESME_RSUBMITFAIL"},
	{pdu.StatusInvSrcTON, 0x48, "ESME_RINVSRCTON"},
	{pdu.StatusInvSrcNPI, 0x49, "ESME_RINVSRCNPI"},
	{pdu.StatusInvDstTON, 0x50, "ESME_RINVDSTTON"},
	{pdu.StatusInvDstNPI, 0x51, "ESME_RINVDSTNPI"},
	{pdu.StatusInvSysTyp, 0x53, "ESME_RINVSYSTYP"},
	{pdu.StatusInvRepFlag, 0x54, "ESME_RINVREPFLAG"},
	{pdu.StatusInvNumMsgs, 0x55, "ESME_RINVNUMMSGS"},
	{pdu.StatusThrottled, 0x58, "ESME_RTHROTTLED"},
	{pdu.StatusInvSched, 0x61, "ESME_RINVSCHED"},
	{pdu.StatusInvExpiry, 0x62, "ESME_RINVEXPIRY"},
	{pdu.StatusInvDftMsgID, 0x63, "ESME_RINVDFTMSGID"},
	{pdu.StatusXTAppn, 0x64, "ESME_RX_T_APPN"},
	{pdu.StatusXPAppn, 0x65, "ESME_RX_P_APPN"},
	{pdu.StatusXRAppn, 0x66, "ESME_RX_R_APPN"},
	{pdu.StatusQueryFail, 0x67, "ESME_RQUERYFAIL"},
	{pdu.StatusInvOptParStream, 0xC0, "ESME_RINVOPTPARSTREAM"},
	{pdu.StatusOptParNotAllwd, 0xC1, "ESME_ROPTPARNOTALLWD"},
	{pdu.StatusInvParLen, 0xC2, "ESME_RINVPARLEN"},
	{pdu.StatusMissingOptParam, 0xC3, "ESME_RMISSINGOPTPARAM"},
	{pdu.StatusInvOptParamVal, 0xC4, "ESME_RINVOPTPARAMVAL"},
	{pdu.StatusDeliveryFailure, 0xFE, "ESME_RDELIVERYFAILURE"},
	{pdu.StatusUnknownErr, 0xFF, "ESME_RUNKNOWNERR"},
}

func TestStatus_String(t *testing.T) {
	for _, c := range specStatuses {
		if uint32(c.s) != c.v {
			t.Errorf("%s = 0x%X, want 0x%X", c.name, uint32(c.s), c.v)
		}
		if got := c.s.String(); got != c.name {
			t.Errorf("Status(0x%X).String() = %q, want %q", c.v, got, c.name)
		}
	}
	for _, s := range []pdu.Status{0x09, 0x10, 0x401, 0xFFFFFFFF} {
		if got, want := s.String(), fmt.Sprintf("0x%08X", uint32(s)); got != want {
			t.Errorf("Status(0x%X).String() = %q, want %q", uint32(s), got, want)
		}
	}
}

func TestStatus_Error(t *testing.T) {
	var err error = pdu.StatusThrottled
	if got := err.Error(); got != "ESME_RTHROTTLED: throttling error (ESME has exceeded allowed message limits)" {
		t.Errorf("Error() = %q", got)
	}
	wrapped := fmt.Errorf("smpp: submit: %w", err)
	var s pdu.Status
	if !errors.As(wrapped, &s) || s != pdu.StatusThrottled || !errors.Is(wrapped, pdu.StatusThrottled) {
		t.Errorf("a wrapped status does not unwrap: %v", wrapped)
	}
	if got := pdu.Status(0x401).Error(); got != "command_status 0x00000401: SMSC vendor-specific error" {
		t.Errorf("vendor Error() = %q", got)
	}
	if got := pdu.Status(0x70).Error(); got != "command_status 0x00000070: reserved or unknown" {
		t.Errorf("reserved Error() = %q", got)
	}
}

func TestStatus_Class(t *testing.T) {
	want := map[pdu.Status]pdu.Class{
		pdu.StatusOK:        pdu.ClassOK,
		pdu.StatusThrottled: pdu.ClassThrottle,
		pdu.StatusMsgQFul:   pdu.ClassThrottle,
		pdu.StatusSysErr:    pdu.ClassTemporary,
		pdu.StatusXTAppn:    pdu.ClassTemporary,
		pdu.StatusInvBndSts: pdu.ClassRebind,
		pdu.StatusAlyBnd:    pdu.ClassBindBusy,
		pdu.StatusBindFail:  pdu.ClassBindBusy,
		pdu.StatusInvPaswd:  pdu.ClassBadCredentials,
		pdu.StatusInvSysID:  pdu.ClassBadCredentials,
		pdu.StatusInvSysTyp: pdu.ClassBadCredentials,
	}
	for _, c := range specStatuses {
		w, ok := want[c.s]
		if !ok {
			w = pdu.ClassPermanent
		}
		if got := c.s.Class(); got != w {
			t.Errorf("%s.Class() = %s, want %s", c.s, got, w)
		}
	}
	for _, s := range []pdu.Status{0x09, 0x401, 0xFFFFFFFF} {
		if got := s.Class(); got != pdu.ClassPermanent {
			t.Errorf("unknown %s.Class() = %s, want permanent", s, got)
		}
	}
	names := map[pdu.Class]string{pdu.ClassOK: "ok", pdu.ClassThrottle: "throttle", pdu.ClassTemporary: "temporary",
		pdu.ClassRebind: "rebind", pdu.ClassBindBusy: "bind-busy", pdu.ClassBadCredentials: "bad-credentials",
		pdu.ClassPermanent: "permanent"}
	for c, n := range names {
		if c.String() != n {
			t.Errorf("Class %d String() = %q, want %q", c, c.String(), n)
		}
	}
}

func TestParseStatus(t *testing.T) {
	tests := []struct {
		in   string
		want pdu.Status
		ok   bool
	}{
		{"ESME_RTHROTTLED", pdu.StatusThrottled, true},
		{"rthrottled", pdu.StatusThrottled, true},
		{"esme_rinvdstadr", pdu.StatusInvDstAdr, true},
		{"0x58", pdu.StatusThrottled, true},
		{"88", pdu.StatusThrottled, true},
		{"0x400", pdu.Status(0x400), true},
		{"ESME_NOPE", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := pdu.ParseStatus(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseStatus(%q) = %v, %v; want %v, ok=%v", tt.in, uint32(got), err, uint32(tt.want), tt.ok)
		}
	}
}

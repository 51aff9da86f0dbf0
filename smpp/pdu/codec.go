package pdu

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
)

// PDU is the body of one SMPP PDU: everything after the header. The
// header's command_id follows from the type (CommandID); command_length,
// command_status and sequence_number are given when encoding (Append) and
// returned beside the body when decoding (Decode).
//
// The set of implementations is closed: the types of this package.
type PDU interface {
	// CommandID is the command_id this body is sent with.
	CommandID() CommandID
	// AppendBody appends the encoded body to dst. It fails, naming the
	// field, on a value the spec does not allow (too long, a NUL inside a
	// C-Octet String, a time that is not 16 characters); on error dst is
	// returned unchanged.
	AppendBody(dst []byte) ([]byte, error)

	decode(d *decoder)
}

// bodyless is implemented by the responses whose body the spec leaves out
// when command_status is not 0 ("the submit_sm_resp PDU body is not
// returned if the command_status field contains a non-zero value", §4.4.2;
// likewise §4.1.2 for bind responses; SMPP 5.0 makes it the rule for every
// response).
type bodyless interface {
	// emptyBody reports whether the value carries nothing to send, so an
	// error response built from it is sent as a bare header.
	emptyBody() bool
}

// Append appends a whole PDU (header and body) to dst, with command_length
// computed, and returns the extended slice. It does not allocate when dst
// has room.
//
// An error response (status != StatusOK) whose body is empty (the zero
// value of bind_*_resp, submit_sm_resp, submit_multi_resp, deliver_sm_resp,
// data_sm_resp or query_sm_resp) is written as the bare 16-octet header, as
// §4.4.2 prescribes; give it a field or a TLV to send a body anyway.
func Append(dst []byte, p PDU, status Status, seq uint32) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLen)...)
	omit := false
	if status != StatusOK {
		if b, ok := p.(bodyless); ok && b.emptyBody() {
			omit = true
		}
	}
	if !omit {
		var err error
		if dst, err = p.AppendBody(dst); err != nil {
			return dst[:start], err
		}
	}
	if uint64(len(dst)-start) > 0xFFFFFFFF {
		return dst[:start], &EncodeError{ID: p.CommandID(), Field: "command_length", Reason: "PDU longer than 4 GiB"}
	}
	h := dst[start : start+HeaderLen]
	binary.BigEndian.PutUint32(h[0:], uint32(len(dst)-start))
	binary.BigEndian.PutUint32(h[4:], uint32(p.CommandID()))
	binary.BigEndian.PutUint32(h[8:], uint32(status))
	binary.BigEndian.PutUint32(h[12:], seq)
	return dst, nil
}

// Encode returns a whole PDU in a new slice; see Append.
func Encode(p PDU, status Status, seq uint32) ([]byte, error) {
	return Append(nil, p, status, seq)
}

// Decoder holds decoding options. The zero value copies every byte slice it
// returns, so a decoded PDU stays valid after the frame's buffer is reused.
type Decoder struct {
	// AliasBytes makes short_message, TLV values and the other octet
	// fields slices of the frame passed in instead of copies: one
	// allocation less per PDU. Only for callers that are done with the
	// PDU before the frame's memory is reused (the Reader reuses it on the
	// next ReadFrame). Strings are always copies.
	AliasBytes bool
}

// Decode decodes a whole PDU (header and body) with the zero Decoder.
func Decode(frame []byte) (Header, PDU, error) { return Decoder{}.Decode(frame) }

// DecodeBody decodes a body with the zero Decoder.
func DecodeBody(h Header, body []byte) (PDU, error) { return Decoder{}.DecodeBody(h, body) }

// Decode decodes a whole PDU: a header whose command_length equals
// len(frame), then the body. A frame shorter than a header gives a plain
// error; every other failure is a *DecodeError with the header filled in.
func (dc Decoder) Decode(frame []byte) (Header, PDU, error) {
	h, err := ParseHeader(frame)
	if err != nil {
		return Header{}, nil, err
	}
	if uint64(h.Length) != uint64(len(frame)) {
		return h, nil, &DecodeError{Header: h, Field: "command_length", Status: StatusInvCmdLen,
			Reason: fmt.Sprintf("is %d but the frame has %d octets", h.Length, len(frame))}
	}
	p, err := dc.DecodeBody(h, frame[HeaderLen:])
	return h, p, err
}

// DecodeBody decodes the body of a PDU whose header is h: body is
// everything after the 16 header octets. It returns the body as a pointer
// to this package's type for h.ID (*SubmitSM for submit_sm, *Bind for the
// three bind requests, ...). Every failure is a *DecodeError telling how to
// answer (see DecodeError.Action).
//
// The body must be exactly what the PDU's layout defines: missing
// mandatory fields, fields over their SMPP 3.4 maximum, a C-Octet String
// without its NUL, TLVs that overrun the PDU and octets left over are all
// errors. Two leniencies: a response that may go without a body (see
// Append) decodes from an empty body to its zero value whatever the status,
// so an SMSC that leaves out message_id on success is still heard; and TLVs
// are accepted after the mandatory fields of submit_sm_resp,
// submit_multi_resp, deliver_sm_resp and replace_sm, which 3.4 does not
// give any but SMPP 5.0 does, because SMSCs send them.
func (dc Decoder) DecodeBody(h Header, body []byte) (PDU, error) {
	if !h.ID.Known() {
		return nil, &DecodeError{Header: h, Status: StatusInvCmdID, Reason: "unknown command_id"}
	}
	if len(body) == 0 && mayOmitBody(h.ID) {
		return newBody(h.ID), nil
	}
	d := decoder{b: body, alias: dc.AliasBytes}
	p := d.body(h.ID)
	if d.err == nil && d.off != len(d.b) {
		d.fail("", StatusInvCmdLen, "%d octets left over after the last field", len(d.b)-d.off)
	}
	if d.err != nil {
		d.err.Header = h
		return nil, d.err
	}
	return p, nil
}

// body decodes into a new value of the type for id. The calls are
// concrete, not through the PDU interface, so the decoder stays on the
// caller's stack.
func (d *decoder) body(id CommandID) PDU {
	switch id {
	case SubmitSMID:
		p := new(SubmitSM)
		p.decode(d)
		return p
	case DeliverSMID:
		p := new(DeliverSM)
		p.decode(d)
		return p
	case SubmitSMRespID:
		p := new(SubmitSMResp)
		p.decode(d)
		return p
	case DeliverSMRespID:
		p := new(DeliverSMResp)
		p.decode(d)
		return p
	case DataSMID:
		p := new(DataSM)
		p.decode(d)
		return p
	case DataSMRespID:
		p := new(DataSMResp)
		p.decode(d)
		return p
	case SubmitMultiID:
		p := new(SubmitMulti)
		p.decode(d)
		return p
	case SubmitMultiRespID:
		p := new(SubmitMultiResp)
		p.decode(d)
		return p
	case BindReceiverID, BindTransmitterID, BindTransceiverID:
		p := &Bind{ID: id}
		p.decode(d)
		return p
	case BindReceiverRespID, BindTransmitterRespID, BindTransceiverRespID:
		p := &BindResp{ID: id}
		p.decode(d)
		return p
	case OutbindID:
		p := new(Outbind)
		p.decode(d)
		return p
	case QuerySMID:
		p := new(QuerySM)
		p.decode(d)
		return p
	case QuerySMRespID:
		p := new(QuerySMResp)
		p.decode(d)
		return p
	case CancelSMID:
		p := new(CancelSM)
		p.decode(d)
		return p
	case ReplaceSMID:
		p := new(ReplaceSM)
		p.decode(d)
		return p
	case AlertNotificationID:
		p := new(AlertNotification)
		p.decode(d)
		return p
	}
	// The header-only PDUs: nothing to read; DecodeBody checks that
	// nothing is there.
	return newBody(id)
}

// mayOmitBody reports whether id is a response whose body an error status
// leaves out (see bodyless).
func mayOmitBody(id CommandID) bool {
	switch id {
	case BindReceiverRespID, BindTransmitterRespID, BindTransceiverRespID,
		SubmitSMRespID, SubmitMultiRespID, DeliverSMRespID, DataSMRespID, QuerySMRespID:
		return true
	}
	return false
}

// New returns an empty body of the type for id, or nil for an id this
// package does not know.
func New(id CommandID) PDU { return newBody(id) }

// NewResponse returns an empty response body for a request with command id
// req (*SubmitSMResp for submit_sm, *BindResp with the matching ID for a
// bind), or nil when req expects no response. With a non-zero status it
// encodes as the bare header an error response is.
func NewResponse(req CommandID) PDU {
	if !req.ExpectsResponse() {
		return nil
	}
	return newBody(req.Response())
}

func newBody(id CommandID) PDU {
	switch id {
	case GenericNackID:
		return &GenericNack{}
	case BindReceiverID, BindTransmitterID, BindTransceiverID:
		return &Bind{ID: id}
	case BindReceiverRespID, BindTransmitterRespID, BindTransceiverRespID:
		return &BindResp{ID: id}
	case OutbindID:
		return &Outbind{}
	case UnbindID:
		return &Unbind{}
	case UnbindRespID:
		return &UnbindResp{}
	case EnquireLinkID:
		return &EnquireLink{}
	case EnquireLinkRespID:
		return &EnquireLinkResp{}
	case SubmitSMID:
		return &SubmitSM{}
	case SubmitSMRespID:
		return &SubmitSMResp{}
	case DeliverSMID:
		return &DeliverSM{}
	case DeliverSMRespID:
		return &DeliverSMResp{}
	case SubmitMultiID:
		return &SubmitMulti{}
	case SubmitMultiRespID:
		return &SubmitMultiResp{}
	case DataSMID:
		return &DataSM{}
	case DataSMRespID:
		return &DataSMResp{}
	case QuerySMID:
		return &QuerySM{}
	case QuerySMRespID:
		return &QuerySMResp{}
	case CancelSMID:
		return &CancelSM{}
	case CancelSMRespID:
		return &CancelSMResp{}
	case ReplaceSMID:
		return &ReplaceSM{}
	case ReplaceSMRespID:
		return &ReplaceSMResp{}
	case AlertNotificationID:
		return &AlertNotification{}
	}
	return nil
}

// cfield describes a C-Octet String field (§3.1): its name, its SMPP 3.4
// maximum size with the NUL included, and the command_status that tells a
// peer its value was bad.
type cfield struct {
	name   string
	max    int
	status Status
}

// timeLen is the length of a time field's value (§7.1.1); with its NUL the
// field has 17 octets, or just the NUL when the time is not given.
const timeLen = 16

// decoder is a cursor over a body with bounds-checked reads. The
// first failure sticks (later reads return zero values), so the per-PDU
// code reads like the spec's field table and checks once at the end.
type decoder struct {
	b     []byte
	off   int
	alias bool
	// strs is one string copy of the start of b that C-Octet Strings are
	// sliced from: a PDU's strings cost one allocation, not one each.
	strs string
	// own is a private copy of b[ownAt:], made when the first octet field
	// is handed out, so that all of a PDU's octet fields and TLV values
	// cost one allocation.
	own   []byte
	ownAt int
	err   *DecodeError
}

func (d *decoder) fail(field string, status Status, format string, args ...any) {
	if d.err == nil {
		d.err = &DecodeError{Field: field, Status: status, Reason: fmt.Sprintf(format, args...)}
	}
}

// prefix copies the first n octets of the body (fewer if it is shorter)
// into the string C-Octet Strings are sliced from. n is the furthest a
// PDU's strings can reach.
func (d *decoder) prefix(n int) {
	if n > len(d.b) {
		n = len(d.b)
	}
	d.strs = string(d.b[:n])
}

func (d *decoder) str(i, j int) string {
	if i == j {
		return ""
	}
	if j <= len(d.strs) {
		return d.strs[i:j]
	}
	return string(d.b[i:j])
}

// slice returns b[i:j] for the caller to keep: the frame itself with
// AliasBytes, else the private copy. Its capacity ends at j so that an
// append by the caller cannot run into the next field. Calls come in
// increasing order of i, so the copy made on the first covers the rest.
func (d *decoder) slice(i, j int) []byte {
	if d.alias {
		return d.b[i:j:j]
	}
	if d.own == nil {
		d.own = bytes.Clone(d.b[i:])
		d.ownAt = i
	}
	i, j = i-d.ownAt, j-d.ownAt
	return d.own[i:j:j]
}

func (d *decoder) short(field string, n int) bool {
	if d.err != nil {
		return true
	}
	if len(d.b)-d.off < n {
		d.fail(field, StatusInvCmdLen, "body ends before this field")
		return true
	}
	return false
}

func (d *decoder) u8(field string) uint8 {
	if d.short(field, 1) {
		return 0
	}
	v := d.b[d.off]
	d.off++
	return v
}

func (d *decoder) u32(field string) uint32 {
	if d.short(field, 4) {
		return 0
	}
	v := binary.BigEndian.Uint32(d.b[d.off:])
	d.off += 4
	return v
}

// cstring reads a C-Octet String of at most f.max octets, NUL included.
func (d *decoder) cstring(f *cfield) string {
	if d.short(f.name, 1) {
		return ""
	}
	rest := d.b[d.off:]
	lim := min(len(rest), f.max)
	i := bytes.IndexByte(rest[:lim], 0)
	if i < 0 {
		if len(rest) < f.max {
			d.fail(f.name, f.status, "no NUL terminator before the end of the body")
		} else {
			d.fail(f.name, f.status, "no NUL within %d octets: longer than the %d the spec allows (NUL included)", f.max, f.max)
		}
		return ""
	}
	s := d.str(d.off, d.off+i)
	d.off += i + 1
	return s
}

// time reads a time field: NULL or a 16-character time (§7.1.1). Only the
// size is checked here; ParseTime checks the contents.
func (d *decoder) time(f *cfield) string {
	s := d.cstring(f)
	if len(s) != 0 && len(s) != timeLen {
		d.fail(f.name, f.status, "%d characters; a time has %d (or is NULL)", len(s), timeLen)
		return ""
	}
	return s
}

func (d *decoder) address(ton, npi string, f *cfield) Address {
	var a Address
	a.TON = TON(d.u8(ton))
	a.NPI = NPI(d.u8(npi))
	a.Addr = d.cstring(f)
	return a
}

// shortMessage reads sm_length and the short_message it counts (§5.2.21,
// §5.2.22).
func (d *decoder) shortMessage() []byte {
	n := int(d.u8("sm_length"))
	if d.err != nil {
		return nil
	}
	if n > MaxShortMessage {
		d.fail("sm_length", StatusInvMsgLen, "%d exceeds the maximum of %d", n, MaxShortMessage)
		return nil
	}
	if len(d.b)-d.off < n {
		d.fail("short_message", StatusInvMsgLen, "sm_length is %d but only %d octets remain", n, len(d.b)-d.off)
		return nil
	}
	if n == 0 {
		return nil
	}
	v := d.slice(d.off, d.off+n)
	d.off += n
	return v
}

// MaxShortMessage is the largest short_message (§5.2.22); longer content
// goes into the message_payload TLV.
const MaxShortMessage = 254

// encoder appends a body with a sticky first error, mirroring decoder.
type encoder struct {
	b   []byte
	id  CommandID
	err error
}

func (e *encoder) fail(field, format string, args ...any) {
	if e.err == nil {
		e.err = &EncodeError{ID: e.id, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
}

// result returns the body, or dst untouched if anything failed.
func (e *encoder) result(dst []byte) ([]byte, error) {
	if e.err != nil {
		return dst, e.err
	}
	return e.b, nil
}

func (e *encoder) u8(v uint8) { e.b = append(e.b, v) }

func (e *encoder) u32(v uint32) { e.b = binary.BigEndian.AppendUint32(e.b, v) }

func (e *encoder) cstring(s string, f *cfield) {
	if len(s)+1 > f.max {
		e.fail(f.name, "%d octets with its NUL, more than the %d the spec allows", len(s)+1, f.max)
		return
	}
	if strings.IndexByte(s, 0) >= 0 {
		e.fail(f.name, "contains a NUL octet, which would end the C-Octet String early")
		return
	}
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
}

func (e *encoder) time(s string, f *cfield) {
	if len(s) != 0 && len(s) != timeLen {
		e.fail(f.name, "%d characters; a time has %d (or is empty for NULL)", len(s), timeLen)
		return
	}
	e.cstring(s, f)
}

func (e *encoder) address(a Address, f *cfield) {
	e.u8(uint8(a.TON))
	e.u8(uint8(a.NPI))
	e.cstring(a.Addr, f)
}

func (e *encoder) shortMessage(sm []byte) {
	if len(sm) > MaxShortMessage {
		e.fail("short_message", "%d octets, more than %d: use the message_payload TLV", len(sm), MaxShortMessage)
		return
	}
	e.u8(uint8(len(sm)))
	e.b = append(e.b, sm...)
}

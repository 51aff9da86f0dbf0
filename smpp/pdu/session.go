package pdu

// Session management PDUs: bind, outbind, unbind, enquire_link and
// generic_nack (§4.1, §4.2, §4.3, §4.11).

var (
	fSystemID     = cfield{"system_id", 16, StatusInvSysID}
	fPassword     = cfield{"password", 9, StatusInvPaswd}
	fSystemType   = cfield{"system_type", 13, StatusInvSysTyp}
	fAddressRange = cfield{"address_range", 41, StatusBindFail}
)

// The furthest the strings of a bind can reach: 16+9+13+3+41 octets.
const bindStrings = 16 + 9 + 13 + 3 + 41

func isBind(id CommandID) bool {
	return id == BindTransmitterID || id == BindReceiverID || id == BindTransceiverID
}

// Bind is bind_transmitter, bind_receiver or bind_transceiver (§4.1.1,
// §4.1.3, §4.1.5): the three share one layout and differ only in ID.
type Bind struct {
	// ID is BindTransmitterID, BindReceiverID or BindTransceiverID.
	ID         CommandID
	SystemID   string // at most 15 characters
	Password   string // at most 8 characters
	SystemType string // at most 12 characters
	// InterfaceVersion is the SMPP version the ESME speaks:
	// InterfaceVersion34.
	InterfaceVersion uint8
	// AddressRange is addr_ton, addr_npi and address_range (at most 40
	// characters), the addresses a receiver serves; usually empty.
	AddressRange Address
}

func (p *Bind) CommandID() CommandID { return p.ID }

func (p *Bind) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: p.ID}
	if !isBind(p.ID) {
		e.fail("command_id", "%s is not a bind request", p.ID)
	}
	e.cstring(p.SystemID, &fSystemID)
	e.cstring(p.Password, &fPassword)
	e.cstring(p.SystemType, &fSystemType)
	e.u8(p.InterfaceVersion)
	e.address(p.AddressRange, &fAddressRange)
	return e.result(dst)
}

func (p *Bind) decode(d *decoder) {
	d.prefix(bindStrings)
	p.SystemID = d.cstring(&fSystemID)
	p.Password = d.cstring(&fPassword)
	p.SystemType = d.cstring(&fSystemType)
	p.InterfaceVersion = d.u8("interface_version")
	p.AddressRange = d.address("addr_ton", "addr_npi", &fAddressRange)
}

// BindResp is bind_transmitter_resp, bind_receiver_resp or
// bind_transceiver_resp (§4.1.2, §4.1.4, §4.1.6). With an error status and
// nothing set it encodes as the bare header.
type BindResp struct {
	// ID is one of the three bind response ids.
	ID       CommandID
	SystemID string // the SMSC's id, at most 15 characters
	// TLVs may carry sc_interface_version.
	TLVs TLVs
}

func (p *BindResp) CommandID() CommandID { return p.ID }

func (p *BindResp) emptyBody() bool { return p.SystemID == "" && len(p.TLVs) == 0 }

func (p *BindResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: p.ID}
	if !p.ID.IsResponse() || !isBind(p.ID&^responseBit) {
		e.fail("command_id", "%s is not a bind response", p.ID)
	}
	e.cstring(p.SystemID, &fSystemID)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *BindResp) decode(d *decoder) {
	d.prefix(16)
	p.SystemID = d.cstring(&fSystemID)
	p.TLVs = d.tlvs()
}

// Outbind asks an ESME to bind as a receiver (§4.1.7). It has no response.
type Outbind struct {
	SystemID string // at most 15 characters
	Password string // at most 8 characters
}

func (p *Outbind) CommandID() CommandID { return OutbindID }

func (p *Outbind) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: OutbindID}
	e.cstring(p.SystemID, &fSystemID)
	e.cstring(p.Password, &fPassword)
	return e.result(dst)
}

func (p *Outbind) decode(d *decoder) {
	d.prefix(16 + 9)
	p.SystemID = d.cstring(&fSystemID)
	p.Password = d.cstring(&fPassword)
}

// Unbind ends the session (§4.2.1). It has no body.
type Unbind struct{}

func (*Unbind) CommandID() CommandID                  { return UnbindID }
func (*Unbind) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*Unbind) decode(*decoder)                       {}

// UnbindResp acknowledges unbind (§4.2.2). It has no body.
type UnbindResp struct{}

func (*UnbindResp) CommandID() CommandID                  { return UnbindRespID }
func (*UnbindResp) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*UnbindResp) decode(*decoder)                       {}

// GenericNack answers a PDU the peer could not take at all (§4.3.1): an
// unknown command_id or an invalid command_length. It has no body; its
// command_status says what was wrong.
type GenericNack struct{}

func (*GenericNack) CommandID() CommandID                  { return GenericNackID }
func (*GenericNack) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*GenericNack) decode(*decoder)                       {}

// EnquireLink checks that the peer is alive (§4.11.1). It has no body.
type EnquireLink struct{}

func (*EnquireLink) CommandID() CommandID                  { return EnquireLinkID }
func (*EnquireLink) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*EnquireLink) decode(*decoder)                       {}

// EnquireLinkResp answers enquire_link (§4.11.2). It has no body.
type EnquireLinkResp struct{}

func (*EnquireLinkResp) CommandID() CommandID                  { return EnquireLinkRespID }
func (*EnquireLinkResp) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*EnquireLinkResp) decode(*decoder)                       {}

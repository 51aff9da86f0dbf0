package pdu

// Message submission and delivery: submit_sm, deliver_sm, submit_multi and
// their responses (§4.4, §4.5, §4.6).

var (
	fServiceType = cfield{"service_type", 6, StatusInvSerTyp}
	fSourceAddr  = cfield{"source_addr", 21, StatusInvSrcAdr}
	fDestAddr    = cfield{"destination_addr", 21, StatusInvDstAdr}
	fSchedule    = cfield{"schedule_delivery_time", 17, StatusInvSched}
	fValidity    = cfield{"validity_period", 17, StatusInvExpiry}
	fMessageID   = cfield{"message_id", 65, StatusInvMsgID}
	fDLName      = cfield{"dl_name", 21, StatusInvDLName}
	// deliver_sm_resp's message_id is unused and always NULL (§4.6.2).
	fNullMessageID = cfield{"message_id", 1, StatusInvMsgID}
)

// The furthest the strings of submit_sm and deliver_sm can reach.
const smStrings = 6 + 2 + 21 + 2 + 21 + 3 + 17 + 17

// MaxDests is the most dest_address entries a submit_multi may carry
// (§4.5.1).
const MaxDests = 254

// SubmitSM is submit_sm (§4.4.1): one short message to one address. Its
// fields are the spec's, in the spec's order.
type SubmitSM struct {
	ServiceType string  // at most 5 characters; empty for the SMSC default
	Source      Address // source_addr at most 20 characters
	Dest        Address // destination_addr at most 20 characters
	ESMClass    ESMClass
	ProtocolID  uint8
	// PriorityFlag is 0 (lowest) to 3 in GSM.
	PriorityFlag uint8
	// ScheduleDeliveryTime and ValidityPeriod are SMPP times of 16
	// characters (FormatTime, FormatDuration) or empty for the SMSC
	// default.
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   RegisteredDelivery
	ReplaceIfPresent     uint8
	DataCoding           DataCoding
	SMDefaultMsgID       uint8
	// ShortMessage is the user data, UDH included when ESMClass has UDHI:
	// at most 254 octets; sm_length is its length. Longer content goes in
	// the message_payload TLV with ShortMessage empty.
	ShortMessage []byte
	TLVs         TLVs
}

func (p *SubmitSM) CommandID() CommandID { return SubmitSMID }

func (p *SubmitSM) AppendBody(dst []byte) ([]byte, error) { return p.appendBody(dst, SubmitSMID) }

func (p *SubmitSM) appendBody(dst []byte, id CommandID) ([]byte, error) {
	e := encoder{b: dst, id: id}
	e.cstring(p.ServiceType, &fServiceType)
	e.address(p.Source, &fSourceAddr)
	e.address(p.Dest, &fDestAddr)
	e.u8(uint8(p.ESMClass))
	e.u8(p.ProtocolID)
	e.u8(p.PriorityFlag)
	e.time(p.ScheduleDeliveryTime, &fSchedule)
	e.time(p.ValidityPeriod, &fValidity)
	e.u8(uint8(p.RegisteredDelivery))
	e.u8(p.ReplaceIfPresent)
	e.u8(uint8(p.DataCoding))
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *SubmitSM) decode(d *decoder) {
	d.prefix(smStrings)
	p.ServiceType = d.cstring(&fServiceType)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr)
	p.Dest = d.address("dest_addr_ton", "dest_addr_npi", &fDestAddr)
	p.ESMClass = ESMClass(d.u8("esm_class"))
	p.ProtocolID = d.u8("protocol_id")
	p.PriorityFlag = d.u8("priority_flag")
	p.ScheduleDeliveryTime = d.time(&fSchedule)
	p.ValidityPeriod = d.time(&fValidity)
	p.RegisteredDelivery = RegisteredDelivery(d.u8("registered_delivery"))
	p.ReplaceIfPresent = d.u8("replace_if_present_flag")
	p.DataCoding = DataCoding(d.u8("data_coding"))
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

// SubmitSMResp is submit_sm_resp (§4.4.2). With an error status and
// nothing set it encodes as the bare header, as the spec requires.
type SubmitSMResp struct {
	// MessageID is the SMSC's id for the message, at most 64 characters;
	// receipts refer to it.
	MessageID string
	// TLVs are not in 3.4's submit_sm_resp; SMPP 5.0 SMSCs add
	// additional_status_info_text and friends.
	TLVs TLVs
}

func (p *SubmitSMResp) CommandID() CommandID { return SubmitSMRespID }

func (p *SubmitSMResp) emptyBody() bool { return p.MessageID == "" && len(p.TLVs) == 0 }

func (p *SubmitSMResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: SubmitSMRespID}
	e.cstring(p.MessageID, &fMessageID)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *SubmitSMResp) decode(d *decoder) {
	d.prefix(fMessageID.max)
	p.MessageID = d.cstring(&fMessageID)
	p.TLVs = d.tlvs()
}

// DeliverSM is deliver_sm (§4.6.1): an incoming message or a delivery
// receipt. It has submit_sm's layout; the SMSC leaves ServiceType,
// ScheduleDeliveryTime and ValidityPeriod empty, and a receipt has a
// message type in ESMClass (ESMTypeDeliveryReceipt, ...) and usually the
// receipted_message_id and message_state TLVs.
type DeliverSM SubmitSM

func (p *DeliverSM) CommandID() CommandID { return DeliverSMID }

func (p *DeliverSM) AppendBody(dst []byte) ([]byte, error) {
	return (*SubmitSM)(p).appendBody(dst, DeliverSMID)
}

func (p *DeliverSM) decode(d *decoder) { (*SubmitSM)(p).decode(d) }

// DeliverSMResp is deliver_sm_resp (§4.6.2). Its message_id is unused and
// always NULL, so only TLVs (an SMPP 5.0 addition) can be set. With an
// error status and no TLVs it encodes as the bare header.
type DeliverSMResp struct {
	TLVs TLVs
}

func (p *DeliverSMResp) CommandID() CommandID { return DeliverSMRespID }

func (p *DeliverSMResp) emptyBody() bool { return len(p.TLVs) == 0 }

func (p *DeliverSMResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: DeliverSMRespID}
	e.u8(0) // message_id: NULL
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *DeliverSMResp) decode(d *decoder) {
	d.cstring(&fNullMessageID)
	p.TLVs = d.tlvs()
}

// DestAddress is one destination of a submit_multi (§4.5.1.1): an SME
// address or the name of a distribution list held by the SMSC.
type DestAddress struct {
	Flag DestFlag
	// Address is used when Flag is DestSMEAddress (destination_addr at
	// most 20 characters).
	Address Address
	// DLName is used when Flag is DestDistributionList (at most 20
	// characters).
	DLName string
}

// SubmitMulti is submit_multi (§4.5.1): one short message to up to 254
// destinations.
type SubmitMulti struct {
	ServiceType          string
	Source               Address
	Dests                []DestAddress // number_of_dests is len(Dests)
	ESMClass             ESMClass
	ProtocolID           uint8
	PriorityFlag         uint8
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   RegisteredDelivery
	ReplaceIfPresent     uint8
	DataCoding           DataCoding
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	TLVs                 TLVs
}

func (p *SubmitMulti) CommandID() CommandID { return SubmitMultiID }

func (p *SubmitMulti) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: SubmitMultiID}
	e.cstring(p.ServiceType, &fServiceType)
	e.address(p.Source, &fSourceAddr)
	if len(p.Dests) > MaxDests {
		e.fail("number_of_dests", "%d destinations, more than %d", len(p.Dests), MaxDests)
	}
	e.u8(uint8(len(p.Dests)))
	for i := range p.Dests {
		dest := &p.Dests[i]
		e.u8(uint8(dest.Flag))
		switch dest.Flag {
		case DestSMEAddress:
			if dest.DLName != "" {
				e.fail("dest_address", "entry %d is an SME address but has a dl_name", i)
			}
			e.address(dest.Address, &fDestAddr)
		case DestDistributionList:
			if dest.Address != (Address{}) {
				e.fail("dest_address", "entry %d is a distribution list but has an SME address", i)
			}
			e.cstring(dest.DLName, &fDLName)
		default:
			e.fail("dest_flag", "entry %d has dest_flag %d; want 1 (SME address) or 2 (distribution list)", i, dest.Flag)
		}
	}
	e.u8(uint8(p.ESMClass))
	e.u8(p.ProtocolID)
	e.u8(p.PriorityFlag)
	e.time(p.ScheduleDeliveryTime, &fSchedule)
	e.time(p.ValidityPeriod, &fValidity)
	e.u8(uint8(p.RegisteredDelivery))
	e.u8(p.ReplaceIfPresent)
	e.u8(uint8(p.DataCoding))
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *SubmitMulti) decode(d *decoder) {
	d.prefix(6 + 2 + 21 + 1 + MaxDests*(1+2+21) + 3 + 17 + 17)
	p.ServiceType = d.cstring(&fServiceType)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr)
	n := int(d.u8("number_of_dests"))
	if n > MaxDests {
		d.fail("number_of_dests", StatusInvNumDests, "%d exceeds the maximum of %d", n, MaxDests)
	}
	// A distribution list entry is at least 2 octets: refuse a count the
	// body cannot hold before allocating for it.
	if rest := len(d.b) - d.off; d.err == nil && rest < 2*n {
		d.fail("number_of_dests", StatusInvNumDests, "%d destinations cannot fit in the %d octets left", n, rest)
	}
	if d.err == nil && n > 0 {
		p.Dests = make([]DestAddress, n)
		for i := range p.Dests {
			dest := &p.Dests[i]
			dest.Flag = DestFlag(d.u8("dest_flag"))
			switch dest.Flag {
			case DestSMEAddress:
				dest.Address = d.address("dest_addr_ton", "dest_addr_npi", &fDestAddr)
			case DestDistributionList:
				dest.DLName = d.cstring(&fDLName)
			default:
				d.fail("dest_flag", StatusInvDestFlag, "entry %d has dest_flag %d", i, dest.Flag)
			}
			if d.err != nil {
				break
			}
		}
	}
	p.ESMClass = ESMClass(d.u8("esm_class"))
	p.ProtocolID = d.u8("protocol_id")
	p.PriorityFlag = d.u8("priority_flag")
	p.ScheduleDeliveryTime = d.time(&fSchedule)
	p.ValidityPeriod = d.time(&fValidity)
	p.RegisteredDelivery = RegisteredDelivery(d.u8("registered_delivery"))
	p.ReplaceIfPresent = d.u8("replace_if_present_flag")
	p.DataCoding = DataCoding(d.u8("data_coding"))
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

// UnsuccessSME is a destination of a submit_multi that the SMSC did not
// accept, with the reason (§4.5.2.1).
type UnsuccessSME struct {
	Address Address // destination_addr at most 20 characters
	// Status is error_status_code: why this destination failed.
	Status Status
}

// SubmitMultiResp is submit_multi_resp (§4.5.2). With an error status and
// nothing set it encodes as the bare header.
type SubmitMultiResp struct {
	MessageID string
	// Unsuccess lists the destinations that failed; no_unsuccess is its
	// length.
	Unsuccess []UnsuccessSME
	// TLVs are an SMPP 5.0 addition.
	TLVs TLVs
}

func (p *SubmitMultiResp) CommandID() CommandID { return SubmitMultiRespID }

func (p *SubmitMultiResp) emptyBody() bool {
	return p.MessageID == "" && len(p.Unsuccess) == 0 && len(p.TLVs) == 0
}

func (p *SubmitMultiResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: SubmitMultiRespID}
	e.cstring(p.MessageID, &fMessageID)
	if len(p.Unsuccess) > 255 {
		e.fail("no_unsuccess", "%d entries, more than one octet can count", len(p.Unsuccess))
	}
	e.u8(uint8(len(p.Unsuccess)))
	for _, u := range p.Unsuccess {
		e.address(u.Address, &fDestAddr)
		e.u32(uint32(u.Status))
	}
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *SubmitMultiResp) decode(d *decoder) {
	d.prefix(65 + 1 + 255*(2+21+4))
	p.MessageID = d.cstring(&fMessageID)
	n := int(d.u8("no_unsuccess"))
	// Each unsuccess_sme entry is at least 7 octets: check before
	// allocating for the count.
	if rest := len(d.b) - d.off; d.err == nil && rest < 7*n {
		d.fail("no_unsuccess", StatusInvCmdLen, "%d entries cannot fit in the %d octets left", n, rest)
	}
	if d.err == nil && n > 0 {
		p.Unsuccess = make([]UnsuccessSME, n)
		for i := range p.Unsuccess {
			p.Unsuccess[i].Address = d.address("dest_addr_ton", "dest_addr_npi", &fDestAddr)
			p.Unsuccess[i].Status = Status(d.u32("error_status_code"))
		}
	}
	p.TLVs = d.tlvs()
}

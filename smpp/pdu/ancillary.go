package pdu

// data_sm, query_sm, cancel_sm, replace_sm and alert_notification with
// their responses (§4.7, §4.8, §4.9, §4.10, §4.12).

var (
	fSourceAddr65 = cfield{"source_addr", 65, StatusInvSrcAdr}
	fDestAddr65   = cfield{"destination_addr", 65, StatusInvDstAdr}
	fEsmeAddr     = cfield{"esme_addr", 65, StatusInvDstAdr}
	fFinalDate    = cfield{"final_date", 17, StatusQueryFail}
)

// DataSM is data_sm (§4.7.1): a message whose content and options travel
// in TLVs (message_payload). Its addresses may be up to 64 characters.
type DataSM struct {
	ServiceType        string
	Source             Address
	Dest               Address
	ESMClass           ESMClass
	RegisteredDelivery RegisteredDelivery
	DataCoding         DataCoding
	TLVs               TLVs
}

func (p *DataSM) CommandID() CommandID { return DataSMID }

func (p *DataSM) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: DataSMID}
	e.cstring(p.ServiceType, &fServiceType)
	e.address(p.Source, &fSourceAddr65)
	e.address(p.Dest, &fDestAddr65)
	e.u8(uint8(p.ESMClass))
	e.u8(uint8(p.RegisteredDelivery))
	e.u8(uint8(p.DataCoding))
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *DataSM) decode(d *decoder) {
	d.prefix(6 + 2 + 65 + 2 + 65)
	p.ServiceType = d.cstring(&fServiceType)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr65)
	p.Dest = d.address("dest_addr_ton", "dest_addr_npi", &fDestAddr65)
	p.ESMClass = ESMClass(d.u8("esm_class"))
	p.RegisteredDelivery = RegisteredDelivery(d.u8("registered_delivery"))
	p.DataCoding = DataCoding(d.u8("data_coding"))
	p.TLVs = d.tlvs()
}

// DataSMResp is data_sm_resp (§4.7.2). With an error status and nothing
// set it encodes as the bare header; an error with delivery_failure_reason
// keeps its body.
type DataSMResp struct {
	MessageID string
	TLVs      TLVs
}

func (p *DataSMResp) CommandID() CommandID { return DataSMRespID }

func (p *DataSMResp) emptyBody() bool { return p.MessageID == "" && len(p.TLVs) == 0 }

func (p *DataSMResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: DataSMRespID}
	e.cstring(p.MessageID, &fMessageID)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *DataSMResp) decode(d *decoder) {
	d.prefix(fMessageID.max)
	p.MessageID = d.cstring(&fMessageID)
	p.TLVs = d.tlvs()
}

// QuerySM is query_sm (§4.8.1): asks the state of a message submitted
// earlier.
type QuerySM struct {
	MessageID string
	Source    Address // as in the original submit_sm
}

func (p *QuerySM) CommandID() CommandID { return QuerySMID }

func (p *QuerySM) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: QuerySMID}
	e.cstring(p.MessageID, &fMessageID)
	e.address(p.Source, &fSourceAddr)
	return e.result(dst)
}

func (p *QuerySM) decode(d *decoder) {
	d.prefix(65 + 2 + 21)
	p.MessageID = d.cstring(&fMessageID)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr)
}

// QuerySMResp is query_sm_resp (§4.8.2). With an error status and nothing
// set it encodes as the bare header.
type QuerySMResp struct {
	MessageID string
	// FinalDate is when the message reached its final state: an SMPP time
	// of 16 characters, or empty while it is not final.
	FinalDate    string
	MessageState MessageState
	// ErrorCode is the network's error code for a failed delivery.
	ErrorCode uint8
}

func (p *QuerySMResp) CommandID() CommandID { return QuerySMRespID }

func (p *QuerySMResp) emptyBody() bool { return *p == QuerySMResp{} }

func (p *QuerySMResp) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: QuerySMRespID}
	e.cstring(p.MessageID, &fMessageID)
	e.time(p.FinalDate, &fFinalDate)
	e.u8(uint8(p.MessageState))
	e.u8(p.ErrorCode)
	return e.result(dst)
}

func (p *QuerySMResp) decode(d *decoder) {
	d.prefix(65 + 17)
	p.MessageID = d.cstring(&fMessageID)
	p.FinalDate = d.time(&fFinalDate)
	p.MessageState = MessageState(d.u8("message_state"))
	p.ErrorCode = d.u8("error_code")
}

// CancelSM is cancel_sm (§4.9.1): cancels one message (MessageID set) or
// every message from Source to Dest (MessageID empty).
type CancelSM struct {
	ServiceType string
	MessageID   string
	Source      Address
	Dest        Address
}

func (p *CancelSM) CommandID() CommandID { return CancelSMID }

func (p *CancelSM) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: CancelSMID}
	e.cstring(p.ServiceType, &fServiceType)
	e.cstring(p.MessageID, &fMessageID)
	e.address(p.Source, &fSourceAddr)
	e.address(p.Dest, &fDestAddr)
	return e.result(dst)
}

func (p *CancelSM) decode(d *decoder) {
	d.prefix(6 + 65 + 2 + 21 + 2 + 21)
	p.ServiceType = d.cstring(&fServiceType)
	p.MessageID = d.cstring(&fMessageID)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr)
	p.Dest = d.address("dest_addr_ton", "dest_addr_npi", &fDestAddr)
}

// CancelSMResp is cancel_sm_resp (§4.9.2). It has no body.
type CancelSMResp struct{}

func (*CancelSMResp) CommandID() CommandID                  { return CancelSMRespID }
func (*CancelSMResp) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*CancelSMResp) decode(*decoder)                       {}

// ReplaceSM is replace_sm (§4.10.1): replaces a message that is still
// waiting for delivery.
type ReplaceSM struct {
	MessageID            string
	Source               Address
	ScheduleDeliveryTime string
	ValidityPeriod       string
	RegisteredDelivery   RegisteredDelivery
	SMDefaultMsgID       uint8
	ShortMessage         []byte
	// TLVs are an SMPP 5.0 addition (message_payload).
	TLVs TLVs
}

func (p *ReplaceSM) CommandID() CommandID { return ReplaceSMID }

func (p *ReplaceSM) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: ReplaceSMID}
	e.cstring(p.MessageID, &fMessageID)
	e.address(p.Source, &fSourceAddr)
	e.time(p.ScheduleDeliveryTime, &fSchedule)
	e.time(p.ValidityPeriod, &fValidity)
	e.u8(uint8(p.RegisteredDelivery))
	e.u8(p.SMDefaultMsgID)
	e.shortMessage(p.ShortMessage)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *ReplaceSM) decode(d *decoder) {
	d.prefix(65 + 2 + 21 + 17 + 17)
	p.MessageID = d.cstring(&fMessageID)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr)
	p.ScheduleDeliveryTime = d.time(&fSchedule)
	p.ValidityPeriod = d.time(&fValidity)
	p.RegisteredDelivery = RegisteredDelivery(d.u8("registered_delivery"))
	p.SMDefaultMsgID = d.u8("sm_default_msg_id")
	p.ShortMessage = d.shortMessage()
	p.TLVs = d.tlvs()
}

// ReplaceSMResp is replace_sm_resp (§4.10.2). It has no body.
type ReplaceSMResp struct{}

func (*ReplaceSMResp) CommandID() CommandID                  { return ReplaceSMRespID }
func (*ReplaceSMResp) AppendBody(dst []byte) ([]byte, error) { return dst, nil }
func (*ReplaceSMResp) decode(*decoder)                       {}

// AlertNotification tells an ESME that a mobile it asked about (set_dpf)
// is reachable again (§4.12.1). It has no response.
type AlertNotification struct {
	Source   Address // the mobile, at most 64 characters
	ESMEAddr Address // the ESME that asked, at most 64 characters
	// TLVs may carry ms_availability_status.
	TLVs TLVs
}

func (p *AlertNotification) CommandID() CommandID { return AlertNotificationID }

func (p *AlertNotification) AppendBody(dst []byte) ([]byte, error) {
	e := encoder{b: dst, id: AlertNotificationID}
	e.address(p.Source, &fSourceAddr65)
	e.address(p.ESMEAddr, &fEsmeAddr)
	e.tlvs(p.TLVs)
	return e.result(dst)
}

func (p *AlertNotification) decode(d *decoder) {
	d.prefix(2 + 65 + 2 + 65)
	p.Source = d.address("source_addr_ton", "source_addr_npi", &fSourceAddr65)
	p.ESMEAddr = d.address("esme_addr_ton", "esme_addr_npi", &fEsmeAddr)
	p.TLVs = d.tlvs()
}

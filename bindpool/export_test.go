package bindpool

// WithDefaults exposes the defaults New applies, for the tests of the
// default strategies.
func WithDefaults(o Options) (Options, error) { return o.withDefaults() }

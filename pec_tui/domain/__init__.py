"""Pure business rules of PEC renewals: plans, prices, lifecycle, validation. No I/O."""

"""What the usage means: depth metrics (whose tokens cost the most, and why), and later the detectors
and the conversation queue. Pure functions over what the store returns."""

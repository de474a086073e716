"""The domain core: plain Python in the business's words; no web framework, no SQL, no clock."""

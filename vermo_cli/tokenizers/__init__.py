"""Tokenizers: FlowVQ for motion, audio codecs, and (later) the shared vocabulary."""

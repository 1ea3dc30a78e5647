"""Tokenizers: FlowVQ for motion, audio codecs, the text BPE, the shared vocabulary and the
token corpus."""

"""FlowVQ, the motion tokenizer: per-frame features (`features`), the recipe (`recipe`), the
stage-1 FSQ autoencoder (`vqvae`), the stage-2 flow-matching decoder (`flow_decoder`), the
trained tokenizer that encodes and decodes (`tokenizer`), its training data and loop (`data`,
`train`), reconstruction scores (`evaluation`) and decoding code files (`decode_file`)."""

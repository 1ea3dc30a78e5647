"""Audio codecs: the plugin interface every codec implements (`interface`), and the built-in
spectral codec: its recipe, network, training audio and training loop.

The built-in codec:

Waveform at 24 kHz -> STFT magnitude frames, one per 600 samples (40 tokens per second) ->
log-mel -> 1-D convolutions over time -> one finite scalar quantizer (FSQ) -> 1-D convolutions
-> log-magnitude frames -> Griffin-Lim (librosa) -> waveform. Trained on random crops with an
L1 loss on log magnitudes plus spectral convergence.

Why a spectral codec and not a waveform one (SoundStream/WavTokenizer style): waveform codecs
need adversarial losses and hundreds of thousands of GPU steps before they output more than
noise, while this one learns onsets, beats and the spectral envelope in a few hundred CPU steps,
which is what motion-music tasks need from audio tokens. Its phase is estimated, not coded, so
it sounds reverberant; users who need high-fidelity audio plug in a pretrained codec through the
`transformers` plugin. FSQ rather than a learned codebook: no codebook to collapse, no
commitment loss, and training stays a deterministic function of the seed (exact resume).
"""

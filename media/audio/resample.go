package audio

import "fmt"

// Resample converts mono int16 PCM from fromRate to toRate (Hz) by linear
// interpolation. When downsampling, it first averages over each output
// period (a box filter) to limit aliasing. It is meant for whole clips (file
// input, test fixtures), not for a streaming path. It returns an error for a
// non-positive rate.
func Resample(in []int16, fromRate, toRate int) ([]int16, error) {
	if fromRate <= 0 || toRate <= 0 {
		return nil, fmt.Errorf("audio: resample %d Hz -> %d Hz: rates must be positive", fromRate, toRate)
	}
	if fromRate == toRate || len(in) == 0 {
		out := make([]int16, len(in))
		copy(out, in)
		return out, nil
	}
	src := in
	if toRate < fromRate {
		src = boxFilter(in, (fromRate+toRate-1)/toRate)
	}
	n := int(int64(len(in)) * int64(toRate) / int64(fromRate))
	out := make([]int16, n)
	step := float64(fromRate) / float64(toRate)
	for i := range out {
		pos := float64(i) * step
		j := int(pos)
		frac := pos - float64(j)
		a := float64(src[j])
		b := a
		if j+1 < len(src) {
			b = float64(src[j+1])
		}
		out[i] = int16(a + (b-a)*frac)
	}
	return out, nil
}

// boxFilter returns the moving average of in over width samples.
func boxFilter(in []int16, width int) []int16 {
	if width <= 1 {
		return in
	}
	out := make([]int16, len(in))
	var sum int64
	for i, s := range in {
		sum += int64(s)
		if i >= width {
			sum -= int64(in[i-width])
		}
		w := min(i+1, width)
		out[i] = int16(sum / int64(w))
	}
	return out
}

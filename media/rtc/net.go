package rtc

import (
	"fmt"
	"sync"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/stdnet"
)

// liveNet is pion's standard network (stdnet) with the host's interfaces
// read anew at every ICE gathering. pion reads them once, when a peer
// connection's ICE agent is made, so an ICE restart after the host moved to
// another network (a new address, an interface gone) would gather only the
// addresses it had at the start of the call, and never connect. One
// liveNet serves all of a factory's peer connections.
type liveNet struct {
	*stdnet.Net
	mu sync.Mutex // guards the stdnet's interface list while it is replaced
}

func newLiveNet() (*liveNet, error) {
	n, err := stdnet.NewNet()
	if err != nil {
		return nil, fmt.Errorf("rtc: network interfaces: %w", err)
	}
	return &liveNet{Net: n}, nil
}

// Interfaces reads the host's interfaces and their addresses now. pion's
// ICE agent calls it when it gathers host candidates.
func (n *liveNet) Interfaces() ([]*transport.Interface, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.Net.UpdateInterfaces(); err != nil {
		return nil, err
	}
	return n.Net.Interfaces()
}

// InterfaceByIndex implements transport.Net from the last interfaces read.
func (n *liveNet) InterfaceByIndex(index int) (*transport.Interface, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.Net.InterfaceByIndex(index)
}

// InterfaceByName implements transport.Net from the last interfaces read.
func (n *liveNet) InterfaceByName(name string) (*transport.Interface, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.Net.InterfaceByName(name)
}

// The one interface every UDP service (DHCP, TFTP, …) is written against. The lab LAN's host stack
// implements it, and so does a real host UDP socket (`bootlab serve`), so the same protocol code serves
// QEMU guests and real boards, and runs side by side with tftpd-hpa or dnsmasq in tests.

/** A UDP endpoint. */
export interface Endpoint {
  /** Dotted IPv4 address. */
  address: string;
  /** The UDP port. */
  port: number;
}

export interface DatagramSocket {
  /** The local port (useful when bound to port 0). */
  readonly port: number;
  send(to: Endpoint, data: Uint8Array): void;
  /** Replaces the handler for incoming datagrams. */
  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void;
  close(): void;
}

export interface DatagramNetwork {
  /** Binds a UDP port; port 0 asks for a free ephemeral port (a TFTP transfer ID). */
  bind(port: number): Promise<DatagramSocket>;
}

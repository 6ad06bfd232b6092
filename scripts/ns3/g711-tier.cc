// The peer program for scripts/compare-ns3.sh: N G.711/20 ms calls (200-byte IP packets every
// 20 ms, random phase within the first 20 ms) from a customer node to a provider node over a
// 1 Gbps CSMA link whose egress has a token bucket at the tier (TbfQueueDisc; a small queue
// makes it drop like a policer). Prints: calls sent received wall_seconds_of_Simulator::Run.
//
// Usage: g711-tier CALLS SECONDS TIER_BPS BURST_BYTES QUEUE_PACKETS SEED
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "ns3/applications-module.h"
#include "ns3/core-module.h"
#include "ns3/csma-module.h"
#include "ns3/internet-module.h"
#include "ns3/network-module.h"
#include "ns3/traffic-control-module.h"

using namespace ns3;

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr, "usage: %s CALLS SECONDS TIER_BPS BURST_BYTES QUEUE_PACKETS SEED\n", argv[0]);
    return 2;
  }
  const uint32_t calls = std::atoi(argv[1]);
  const double seconds = std::atof(argv[2]);
  const uint64_t tier = std::strtoull(argv[3], nullptr, 10);
  const uint32_t burst = std::atoi(argv[4]);
  const uint32_t queue = std::atoi(argv[5]);
  RngSeedManager::SetSeed(std::atoi(argv[6]));

  NodeContainer nodes;
  nodes.Create(2);
  CsmaHelper csma;
  csma.SetChannelAttribute("DataRate", DataRateValue(DataRate("1Gbps")));
  // CSMA is half duplex: the channel stays busy for the propagation delay after every frame,
  // so a long delay caps the packet rate. Keep it short; delay does not change loss here.
  csma.SetChannelAttribute("Delay", TimeValue(NanoSeconds(100)));
  NetDeviceContainer devices = csma.Install(nodes);
  // 20 byte-times at 1 Gbps: preamble + inter-frame gap, as the fiber carries them.
  for (uint32_t i = 0; i < devices.GetN(); i++) {
    DynamicCast<CsmaNetDevice>(devices.Get(i))->SetInterframeGap(NanoSeconds(160));
  }

  InternetStackHelper stack;
  stack.Install(nodes);
  TrafficControlHelper tch;
  tch.SetRootQueueDisc("ns3::TbfQueueDisc", "Rate", DataRateValue(DataRate(tier)), "Burst",
                       UintegerValue(burst), "Mtu", UintegerValue(1522), "MaxSize",
                       QueueSizeValue(QueueSize(QueueSizeUnit::PACKETS, queue)));
  tch.Install(devices.Get(0));
  Ipv4AddressHelper address;
  address.SetBase("192.0.2.0", "255.255.255.0");
  Ipv4InterfaceContainer ifaces = address.Assign(devices);

  // One receive port for every call (a server per call makes each packet scan every socket).
  const uint16_t port = 20000;
  PacketSinkHelper sink("ns3::UdpSocketFactory", InetSocketAddress(Ipv4Address::GetAny(), port));
  ApplicationContainer sinks = sink.Install(nodes.Get(1));
  sinks.Start(Seconds(0));

  // One packet at t = 0 resolves ARP before the calls start at 100 ms (ARP's pending queue
  // holds 3 packets: without this, the first packets of most calls would be lost).
  UdpClientHelper warmup(ifaces.GetAddress(1), port);
  warmup.SetAttribute("MaxPackets", UintegerValue(1));
  warmup.SetAttribute("PacketSize", UintegerValue(172));
  warmup.Install(nodes.Get(0)).Start(Seconds(0));

  Ptr<UniformRandomVariable> phase = CreateObject<UniformRandomVariable>();
  for (uint32_t i = 0; i < calls; i++) {
    UdpClientHelper client(ifaces.GetAddress(1), port);
    client.SetAttribute("MaxPackets", UintegerValue(0xffffffff));
    client.SetAttribute("Interval", TimeValue(MilliSeconds(20)));
    // UdpClient adds its own 12-byte header: 172 bytes of UDP payload like RTP + 160 audio.
    client.SetAttribute("PacketSize", UintegerValue(172));
    ApplicationContainer app = client.Install(nodes.Get(0));
    Time start = MilliSeconds(100) + NanoSeconds(phase->GetInteger(0, 19999999));
    app.Start(start);
    app.Stop(start + Seconds(seconds));
  }
  Simulator::Stop(Seconds(seconds + 1.2));
  auto t0 = std::chrono::steady_clock::now();
  Simulator::Run();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  uint64_t received = DynamicCast<PacketSink>(sinks.Get(0))->GetTotalRx() / 172 - 1;  // less the warm-up
  uint64_t sent = static_cast<uint64_t>(calls) * static_cast<uint64_t>(seconds * 50);
  std::printf("%u %llu %llu %.3f\n", calls, (unsigned long long)sent, (unsigned long long)received, wall);
  Simulator::Destroy();
  return 0;
}

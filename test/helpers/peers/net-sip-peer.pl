#!/usr/bin/perl
# A SIP peer built on Net::SIP (Debian libnet-sip-perl), which onecc did not write, for the interop tests in
# test/sip/peers/. One JSON argument configures it; it prints one JSON object per line on stdout for each
# thing that happened ({"event": ..., "t": epoch seconds, ...}) and exits 0 when its role is done.
# It always ends: SIGALRM after timeout_s prints {"event":"timeout"} and exits 3.
#
# Roles:
#   options  send OPTIONS to `to`, report the final response.
#   call     INVITE `to` (with Net::SIP's own SDP offer), wait for the final response (Net::SIP sends the
#            ACK), wait hold_ms, send BYE, report its response.
#   cancel   INVITE `to`; on the first 180 send CANCEL; report the CANCEL's and the INVITE's final
#            responses (Net::SIP ACKs the 487 itself); then wait linger_ms so that ACK retransmissions,
#            if any, can happen.
#   uas      listen: answer OPTIONS 200, answer INVITE 200 with SDP (or, with ring: true, only 180 and
#            never a 2xx), report ACK, BYE and CANCEL; runs until killed or timeout_s.
use strict;
use warnings;
use JSON::PP;
use Time::HiRes ();
use IO::Socket::IP;
use Net::SIP;
use Net::SIP::Util ':all';

$| = 1;
my $cfg = JSON::PP->new->decode($ARGV[0] // die "usage: $0 '{\"role\":...}'\n");
my $json = JSON::PP->new->canonical;

sub emit {
    my ($event, %fields) = @_;
    print $json->encode({ event => $event, t => Time::HiRes::time(), %fields }), "\n";
}

# What the tests look at in a packet: start line, a few headers, body size.
sub summary {
    my $p = shift or return {};
    my %h;
    for my $name (qw(via from to call-id cseq contact allow accept supported server content-type user-agent)) {
        my @v = $p->get_header($name);
        $h{$name} = join(', ', @v) if @v;
    }
    my %s = (headers => \%h, body_length => length(($p->as_parts)[3] // ''));
    if ($p->is_response) { $s{code} = $p->code + 0; $s{reason} = $p->msg }
    else { $s{method} = $p->method; $s{uri} = $p->uri }
    return \%s;
}

$SIG{ALRM} = sub { emit('timeout'); exit 3 };
alarm($cfg->{timeout_s} // 20);
$SIG{TERM} = sub { emit('terminated'); exit 0 };
Net::SIP::Debug->level($cfg->{debug}) if $cfg->{debug};

my $proto = $cfg->{proto} // 'udp';
# Net::SIP::Leg, given port 0, tries 5060 and 5062-5100 first; bind a free port ourselves instead.
my $sock = IO::Socket::IP->new(
    Proto => $proto, LocalHost => '127.0.0.1', LocalPort => $cfg->{port} // 0, ReuseAddr => 1,
    $proto eq 'tcp' ? (Listen => 100) : (),
) or die "cannot bind $proto socket: $@\n";
my $port = $sock->sockport;
my $leg = Net::SIP::Leg->new(sock => $sock);
my $ua = Net::SIP::Simple->new(
    legs => [$leg],
    from => "netsip <sip:netsip\@127.0.0.1:$port>",
    domain => '127.0.0.1',
);
emit('ready', proto => $proto, port => $port + 0);

# Every packet that reaches the leg, retransmissions included (the callbacks below see only what
# Net::SIP's transaction logic passes up).
{
    my $receive = Net::SIP::Leg->can('receive');
    no warnings 'redefine';
    *Net::SIP::Leg::receive = sub {
        my @r = $receive->(@_);
        emit('received', %{ summary($r[0]) }) if @r && $r[0];
        return @r;
    };
}

my $role = $cfg->{role} // die "no role\n";
my $to = $cfg->{to};

if ($role eq 'options') {
    my $done;
    $ua->{endpoint}->new_request('OPTIONS', { from => $ua->{from}, to => "<$to>" }, sub {
        my ($endpoint, $ctx, $errno, $code, $packet) = @_;
        emit('response', request => 'OPTIONS', errno => ($errno // 0) + 0, %{ summary($packet) });
        $done = 1;
    });
    $ua->loop(\$done);
    exit 0;
}

if ($role eq 'call' || $role eq 'cancel') {
    my ($final, $cancel_done, $cancelling);
    my $call = $ua->invite("<$to>",
        cb_preliminary => sub {
            my ($call, $code, $packet) = @_;
            emit('provisional', request => 'INVITE', %{ summary($packet) });
            if ($role eq 'cancel' && $code == 180 && !$cancelling++) {
                emit('cancelling');
                $ua->{endpoint}->cancel_invite($call->{ctx}, undef, sub {
                    my ($endpoint, $ctx, $errno, $code, $packet) = @_;
                    return if $code && $code < 200;
                    emit('response', request => 'CANCEL', errno => ($errno // 0) + 0, %{ summary($packet) });
                    $cancel_done = 1;
                });
            }
        },
        cb_final => sub {
            my ($status, $call, %info) = @_;
            emit('final', request => 'INVITE', status => $status, errno => ($info{errno} // 0) + 0,
                %{ summary($info{packet}) });
            $final = 1;
        },
    );
    $ua->loop(\$final);
    if ($role eq 'cancel') {
        $ua->loop(5, \$cancel_done) unless $cancel_done;
        $ua->loop(($cfg->{linger_ms} // 0) / 1000) if $cfg->{linger_ms};
        emit('done');
        exit 0;
    }
    $call->error and do { emit('error', message => $call->error); exit 1 };
    $ua->loop(($cfg->{hold_ms} // 200) / 1000);
    my $bye_done;
    $ua->{endpoint}->new_request('BYE', $call->{ctx}, sub {
        my ($endpoint, $ctx, $errno, $code, $packet) = @_;
        return if $code && $code < 200;
        emit('response', request => 'BYE', errno => ($errno // 0) + 0, %{ summary($packet) });
        $bye_done = 1;
    });
    $ua->loop(\$bye_done);
    emit('done');
    exit 0;
}

if ($role eq 'uas') {
    $ua->listen(
        cb_create => sub {
            my ($call, $request, $leg, $from) = @_;
            emit('request', %{ summary($request) });
            return 1;
        },
        cb_invite => sub {
            my ($call, $request) = @_;
            return $cfg->{ring} ? $request->create_response('180', 'Ringing') : undef;
        },
        cb_established => sub { emit('established') },
        recv_bye => sub { emit('recv_bye') },
    );
    $ua->loop;
}

die "unknown role $role\n";

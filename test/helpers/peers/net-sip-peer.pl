#!/usr/bin/perl
# A SIP peer built on Net::SIP (Debian libnet-sip-perl), a SIP stack onecc did not write, for the interop
# tests in test/sip/peers/ (Net::SIP against the bare engine) and the drachtio conformance suite in
# test/sip/drachtio/ (Net::SIP on the far side of the engine from the drachtio-srf apps). Driven by
# test/helpers/peers/net-sip-peer.ts. One JSON argument configures it; it prints one JSON object per line on
# stdout for everything that happened ({"event": ..., "t": epoch seconds, ...}) and exits 0 when its role is
# done (a failed call included: that is reported as an event). It always ends: SIGALRM after timeout_s
# prints {"event":"timeout"} and exits 3. It binds a free port on 127.0.0.1 itself (or `port`).
#
# Roles:
#   call      INVITE `to` with Net::SIP's SDP offer (optionally answering 401/407 with `auth`). With
#             cancel_on_ring, CANCEL on the first 18x instead, report the CANCEL's and the INVITE's final
#             responses (Net::SIP ACKs the 487 itself). After a 2xx, run `actions` in the call (default: one
#             BYE). Then stay up linger_ms, so that late retransmissions can be seen.
#   uas       listen: answer OPTIONS 200; challenge with auth_user2pass (407 when auth_proxy), answer INVITE
#             with `final` (default 200 with SDP), after ring_ms of 180 when given, or only ring
#             (`never_answer`, until a CANCEL). After the ACK, run `actions` in that call. Runs until killed
#             or timeout_s (or `calls` calls).
#   register  REGISTER at `registrar` (with `auth`), expires `expires`; report the final response.
#   request   send `method` (default OPTIONS; MESSAGE...) to `to` out of any dialog; report the final response.
# Actions (in a call): {"do":"bye"} | {"do":"reinvite"} | {"do":"info"} | {"do":"wait","ms":N} | {"do":"await_bye"}.
# Every packet the leg receives, retransmissions included, is reported as "received"; every request a call
# receives as "in_dialog".
use strict;
use warnings;
use JSON::PP;
use Time::HiRes ();
use IO::Socket::IP;
use Net::SIP;
use Net::SIP::Util ':all';
use Scalar::Util qw(refaddr);

$| = 1;
my $cfg = JSON::PP->new->decode($ARGV[0] // die "usage: $0 '{\"role\":...}'\n");
my $json = JSON::PP->new->canonical;
# Our per-call state (Net::SIP::Simple::Call is a restricted hash): refaddr(call) → { established, ended, on_end, ... }.
my %state;
sub st { my $call = shift; return $state{ refaddr($call) } //= {} }

sub emit {
    my ($event, %fields) = @_;
    print $json->encode({ event => $event, t => Time::HiRes::time(), %fields }), "\n";
}

# What the tests look at in a packet: start line, some headers (repeated ones joined with ", "), the body.
sub summary {
    my $p = shift or return {};
    my %h;
    for my $name (qw(via from to call-id cseq contact record-route route content-type allow accept supported
                     server user-agent authorization proxy-authorization www-authenticate proxy-authenticate
                     expires reason x-test)) {
        my @v = $p->get_header($name);
        $h{$name} = join(', ', @v) if @v;
    }
    my $body = ($p->as_parts)[3] // '';
    $body = $body->as_string if ref $body;
    my %s = (headers => \%h, body => $body, body_length => length($body));
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
my $user = $cfg->{user} // 'netsip';
my $ua = Net::SIP::Simple->new(
    legs => [$leg],
    from => "$user <sip:$user\@127.0.0.1:$port>",
    domain => '127.0.0.1',
    $cfg->{contact} ? (contact => $cfg->{contact}) : (),
    $cfg->{outgoing_proxy} ? (outgoing_proxy => $cfg->{outgoing_proxy}) : (),
    $cfg->{auth} ? (auth => $cfg->{auth}) : (),
);
emit('ready', proto => $proto, port => $port + 0);

{
    no warnings 'redefine';
    # Every packet that reaches the leg, retransmissions included.
    my $receive = Net::SIP::Leg->can('receive');
    *Net::SIP::Leg::receive = sub {
        my @r = $receive->(@_);
        emit('received', %{ summary($r[0]) }) if @r && $r[0];
        return @r;
    };
    # Requests inside a call: reported; INFO, MESSAGE and UPDATE (which Net::SIP::Simple::Call drops without
    # an answer) get 200 here, everything else goes to Net::SIP's own handling.
    my $call_receive = Net::SIP::Simple::Call->can('receive');
    *Net::SIP::Simple::Call::receive = sub {
        my ($call, $endpoint, $ctx, $error, $code, $packet, $rleg, $from) = @_;
        if ($packet && $packet->is_request) {
            my $method = $packet->method;
            emit('in_dialog', %{ summary($packet) }) if $method ne 'INVITE' || st($call)->{established};
            if ($method eq 'INFO' || $method eq 'MESSAGE' || $method eq 'UPDATE') {
                $endpoint->new_response($ctx, $packet->create_response('200', 'OK'), $rleg, $from);
                return;
            }
        }
        return $call_receive->(@_);
    };
    # The call ends (BYE or CANCEL received, or our BYE done): wake an "await_bye" action and stop a
    # pending delayed answer.
    my $cleanup = Net::SIP::Simple::Call->can('cleanup');
    *Net::SIP::Simple::Call::cleanup = sub {
        my $call = shift;
        st($call)->{ended} = 1;
        if (my $cb = delete st($call)->{on_end}) { $cb->() }
        return $cleanup->($call, @_);
    };
}

# Runs the configured actions in an established call, one after the other; calls $done at the end.
sub run_actions {
    my ($call, $actions, $done) = @_;
    my @todo = @{ $actions // [] };
    my $next;
    $next = sub {
        my $a = shift @todo;
        if (!$a) { $done->(); return }
        my $what = $a->{do};
        emit('action', do => $what);
        if ($what eq 'wait') {
            $ua->add_timer(($a->{ms} // 100) / 1000, $next);
        } elsif ($what eq 'await_bye') {
            if (st($call)->{ended}) { $next->(); return }
            st($call)->{on_end} = $next;
        } elsif ($what eq 'bye') {
            # What Net::SIP::Simple::Call::bye does (BYE in the call's context, then cleanup), but with the
            # final response and errno reported, which bye()'s callback does not get.
            $call->{endpoint}->new_request('BYE', $call->{ctx}, sub {
                my ($endpoint, $ctx, $errno, $code, $packet) = @_;
                return if $code && $code < 200;
                emit('response', request => 'BYE', errno => ($errno // 0) + 0, %{ summary($packet) });
                $call->cleanup;
                $next->();
            });
        } elsif ($what eq 'info') {
            $call->request('INFO', "Signal=5\r\nDuration=160\r\n", 'content-type' => 'application/dtmf-relay',
                cb_final => sub {
                    my ($status, $c, $info) = @_;
                    emit('response', request => 'INFO', status => $status, %{ summary($info->{packet}) });
                    $next->();
                });
        } elsif ($what eq 'reinvite') {
            $call->reinvite(cb_final => sub {
                my ($status, $c, %info) = @_;
                emit('response', request => 'INVITE', status => $status, %{ summary($info{packet}) });
                $next->();
            });
        } else {
            die "unknown action $what\n";
        }
    };
    $next->();
}

my $role = $cfg->{role} // die "no role\n";
my $to = $cfg->{to};

if ($role eq 'request') {
    my $done;
    my $method = $cfg->{method} // 'OPTIONS';
    $ua->{endpoint}->new_request($method, { from => $ua->{from}, to => "<$to>", $cfg->{auth} ? (auth => $cfg->{auth}) : () }, sub {
        my ($endpoint, $ctx, $errno, $code, $packet) = @_;
        return if $code && $code < 200;
        emit('response', request => $method, errno => ($errno // 0) + 0, %{ summary($packet) });
        $done = 1;
    }, $cfg->{body}, $cfg->{body} ? ('content-type' => 'text/plain') : ());
    $ua->loop(\$done);
    emit('done');
    exit 0;
}

if ($role eq 'register') {
    my $done;
    $ua->register(
        registrar => $cfg->{registrar},
        expires => $cfg->{expires} // 3600,
        $cfg->{auth} ? (auth => $cfg->{auth}) : (),
        cb_final => sub {
            my ($status, %info) = @_;
            emit('registered', status => $status, expires => $info{expires}, errno => ($info{errno} // 0) + 0,
                %{ summary($info{packet}) });
            $done = 1;
        },
    );
    $ua->loop(\$done);
    emit('done');
    exit 0;
}

if ($role eq 'call') {
    my ($final, $cancel_done, $cancelling, $actions_done);
    my $call;
    $call = $ua->invite("<$to>",
        init_media => sub {},    # no RTP: Net::SIP would hang up after 10 s without it
        cb_preliminary => sub {
            my ($c, $code, $packet) = @_;
            emit('provisional', request => 'INVITE', %{ summary($packet) });
            if ($cfg->{cancel_on_ring} && $code >= 180 && !$cancelling++) {
                emit('cancelling');
                $ua->{endpoint}->cancel_invite($c->{ctx}, undef, sub {
                    my ($endpoint, $ctx, $errno, $code, $packet) = @_;
                    return if $code && $code < 200;
                    emit('response', request => 'CANCEL', errno => ($errno // 0) + 0, %{ summary($packet) });
                    $cancel_done = 1;
                });
            }
        },
        cb_final => sub {
            my ($status, $c, %info) = @_;
            emit('final', request => 'INVITE', status => $status, errno => ($info{errno} // 0) + 0,
                %{ summary($info{packet}) });
            $final = 1;
        },
        recv_bye => sub { emit('recv_bye') },
    );
    $ua->loop(\$final);
    if ($cfg->{cancel_on_ring}) {
        $ua->loop(5, \$cancel_done) unless $cancel_done;
        $ua->loop(($cfg->{linger_ms} // 0) / 1000) if $cfg->{linger_ms};
        emit('done');
        exit 0;
    }
    if ($call->error) { emit('error', message => $call->error); $ua->loop(($cfg->{linger_ms} // 0) / 1000) if $cfg->{linger_ms}; emit('done'); exit 0 }
    st($call)->{established} = 1;
    run_actions($call, $cfg->{actions} // [{ do => 'bye' }], sub { $actions_done = 1 });
    $ua->loop(\$actions_done);
    $ua->loop(($cfg->{linger_ms} // 0) / 1000) if $cfg->{linger_ms};
    emit('done');
    exit 0;
}

if ($role eq 'uas') {
    my %contact = $cfg->{contact} ? (contact => $cfg->{contact}) : ();
    my $calls = 0;
    my $finished;
    $ua->listen(
        init_media => sub {},
        cb_create => sub {
            my ($call, $request, $rleg, $from) = @_;
            emit('request', %{ summary($request) });
            st($call)->{leg} = $rleg;
            st($call)->{from} = $from;
            return 1;
        },
        cb_invite => sub {
            my ($call, $request) = @_;
            return undef if st($call)->{answered}++;    # a re-INVITE: Net::SIP's own 200 with SDP
            if (my $code = $cfg->{final}) {
                return $request->create_response($code) if $code != 200;
            }
            if ($cfg->{never_answer} || $cfg->{ring_ms}) {
                if ($cfg->{ring_ms} && !$cfg->{never_answer}) {
                    $ua->add_timer($cfg->{ring_ms} / 1000, sub {
                        return if st($call)->{ended};
                        my $ok = $request->create_response('200', 'OK', \%contact, $call->{param}{sdp});
                        $call->{endpoint}->new_response($call->{ctx}, $ok, st($call)->{leg}, st($call)->{from});
                        emit('answered');
                    });
                }
                return $request->create_response('180', 'Ringing');
            }
            emit('answered');
            # Net::SIP's own 200 would advertise the leg address; with `contact`, advertise that instead.
            return $cfg->{contact} ? $request->create_response('200', 'OK', \%contact, $call->{param}{sdp}) : undef;
        },
        cb_established => sub {
            my ($status, $call) = @_;
            emit('established');
            st($call)->{established} = 1;
            run_actions($call, $cfg->{actions}, sub {
                emit('actions_done');
                $finished = 1 if $cfg->{calls} && ++$calls >= $cfg->{calls};
            });
        },
        recv_bye => sub {
            my ($param) = @_;
            emit('recv_bye');
        },
    );
    # Net::SIP::Simple::listen drops auth_i_am_proxy, so the challenging chain is built here.
    if ($cfg->{auth_user2pass}) {
        $ua->create_chain([
            Net::SIP::Authorize->new(
                dispatcher => $ua->{dispatcher},
                user2pass => $cfg->{auth_user2pass},
                realm => $cfg->{auth_realm} // 'netsip.test',
                i_am_proxy => $cfg->{auth_proxy} ? 1 : 0,
            ),
            $ua->{endpoint},
        ]);
    }
    $ua->loop(\$finished);
    emit('done');
    exit 0;
}

die "unknown role $role\n";

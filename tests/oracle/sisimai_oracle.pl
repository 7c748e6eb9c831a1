#!/usr/bin/perl
# The reference bounce analyser, Sisimai (Debian libsisimai-perl), over message files: prints
# one JSON array, one object per file, with each recipient Sisimai found, its reason and
# softbounce (1 soft, 0 hard, -1 not a bounce). Delivered results are asked for (`delivered`);
# vacation and feedback results come without asking in 4.25, which has no `vacation` option.
# Sisimai->make() on a path reads the file as an mbox (split at each line starting "From "),
# which is what a single message file is to it as well: reading the text and calling
# Sisimai::Message/Sisimai::Data directly gives the same results on these fixtures. Only LF
# files are given: Sisimai::Message splits the header at "\n\n", so bare-CR copies are unreadable
# to it (veille's answer on the CRLF and CR copies is compared with its own LF answer instead).
use strict;
use warnings;
use Sisimai;
use JSON::PP;

my @out;
for my $file (@ARGV) {
    my $results = Sisimai->make($file, delivered => 1) || [];
    push @out, {
        file    => $file,
        results => [
            map {
                {
                    recipient  => $_->recipient->address,
                    reason     => $_->reason,
                    softbounce => $_->softbounce + 0,
                    status     => $_->deliverystatus,
                }
            } @$results
        ],
    };
}
print JSON::PP->new->canonical->encode(\@out);

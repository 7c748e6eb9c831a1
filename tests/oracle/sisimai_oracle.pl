#!/usr/bin/perl
# The reference bounce analyser, Sisimai (Debian libsisimai-perl), over message files: prints
# one JSON array, one object per file, with each recipient Sisimai found, its reason and
# softbounce (1 soft, 0 hard, -1 not a bounce). Delivered and vacation results are asked for.
use strict;
use warnings;
use Sisimai;
use JSON::PP;

my @out;
for my $file (@ARGV) {
    my $results = Sisimai->make($file, delivered => 1, vacation => 1) || [];
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

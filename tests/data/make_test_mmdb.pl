#!/usr/bin/perl
# Write a tiny GeoLite2-Country-shaped .mmdb for tests: make_test_mmdb.pl OUT "CIDR=CC" ...
# Uses Debian's libmaxmind-db-writer-perl. Reserved networks are kept (tests use 127/8 etc.).
use strict;
use warnings;
use MaxMind::DB::Writer::Tree;

my $out = shift @ARGV or die "usage: $0 OUT CIDR=CC...\n";
my %types = (country => 'map', iso_code => 'utf8_string');
my $tree = MaxMind::DB::Writer::Tree->new(
    ip_version => 6, record_size => 24, database_type => 'GeoLite2-Country',
    languages => ['en'], description => { en => 'snowflake broker test data' },
    map_key_type_callback => sub { $types{ $_[0] } },
    remove_reserved_networks => 0, alias_ipv6_to_ipv4 => 1);
for my $arg (@ARGV) {
    my ($net, $cc) = split /=/, $arg, 2;
    $tree->insert_network($net, { country => { iso_code => $cc } });
}
open my $fh, '>:raw', $out or die "cannot write $out: $!\n";
$tree->write_tree($fh);
close $fh or die "cannot close $out: $!\n";
